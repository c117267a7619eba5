package ui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Small charts drawn on the server as inline SVG: no script, no library,
// and each with a title, a one-sentence description and a table of its
// numbers for screen readers and for anyone who wants them.

type bar struct {
	X, Y, W, H float64
	Class      string
	Tip        string
}

type line struct {
	Points string
	Class  string
}

type chartRow struct {
	Label  string
	Values []string
}

type chart struct {
	ID          string // unique in the page: the aria ids derive from it
	Kind        string // the CSS class: deliveries, spark, rate, latency
	Title, Desc string
	W, H        float64
	Bars        []bar
	Lines       []line
	Cols        []string
	Rows        []chartRow
	Empty       bool
	Axis        []axisLabel
}

type axisLabel struct {
	X, Y float64
	Text string
}

// ViewBox is the chart's SVG viewBox.
func (c chart) ViewBox() string { return fmt.Sprintf("0 0 %g %g", c.W, c.H) }

// slots returns the starts of n steps from since.
func slots(since time.Time, step time.Duration, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = since.Add(time.Duration(i) * step)
	}
	return out
}

func hourLabel(t time.Time) string { return t.UTC().Format("15:04") }

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// deliveryChart stacks each hour's successful and failed attempts.
func deliveryChart(v *view, since time.Time, step time.Duration, n int, pts map[time.Time]*hookd.HealthPoint) chart {
	c := chart{ID: "deliveries", Kind: "deliveries", Title: v.T("chart.deliveries"), W: 600, H: 140,
		Cols: []string{v.T("chart.hour"), v.T("chart.ok"), v.T("chart.failed")}}
	var peak, total int64
	for _, p := range pts {
		peak = max(peak, p.Attempts)
		total += p.Attempts
	}
	c.Empty = total == 0
	c.Desc = v.Tf("chart.rate.desc", v.Num(total))
	const top, bottom = 8.0, 20.0
	plot := c.H - top - bottom
	bw := c.W / float64(n)
	for i, t := range slots(since, step, n) {
		p := pts[t]
		if p == nil {
			continue
		}
		failed := p.Attempts - p.Successes
		x := float64(i)*bw + 1
		hOK := float64(p.Successes) / float64(peak) * plot
		hBad := float64(failed) / float64(peak) * plot
		tip := fmt.Sprintf("%s: %s %s, %s %s", hourLabel(t), v.Num(p.Successes), v.T("chart.ok"), v.Num(failed), v.T("chart.failed"))
		c.Bars = append(c.Bars, bar{X: round1(x), Y: round1(top + plot - hOK), W: round1(bw - 2), H: round1(hOK), Class: "ok", Tip: tip})
		if failed > 0 {
			c.Bars = append(c.Bars, bar{X: round1(x), Y: round1(top + plot - hOK - hBad), W: round1(bw - 2), H: round1(hBad), Class: "bad", Tip: tip})
		}
		c.Rows = append(c.Rows, chartRow{Label: hourLabel(t), Values: []string{v.Num(p.Successes), v.Num(failed)}})
	}
	for i := 0; i < n; i += 6 {
		c.Axis = append(c.Axis, axisLabel{X: round1(float64(i)*bw + 1), Y: c.H - 5, Text: hourLabel(since.Add(time.Duration(i) * step))})
	}
	return c
}

// sparkline is a webhook's last 24 hours in one small row of bars: height
// the attempts, colour the share that failed.
func sparkline(v *view, since time.Time, step time.Duration, n int, pts map[time.Time]*hookd.HealthPoint) chart {
	c := chart{ID: "spark", Kind: "spark", Title: v.T("webhooks.day"), W: 100, H: 24,
		Cols: []string{v.T("chart.hour"), v.T("webhook.attempts"), v.T("webhook.successrate")}}
	var peak, total, ok int64
	for _, p := range pts {
		peak = max(peak, p.Attempts)
		total += p.Attempts
		ok += p.Successes
	}
	c.Empty = total == 0
	c.Desc = v.Tf("chart.rate.desc", v.Num(total)) + " " + v.T("webhook.successrate") + ": " + v.Pct(ok, total) + "."
	bw := c.W / float64(n)
	for i, t := range slots(since, step, n) {
		p := pts[t]
		if p == nil || p.Attempts == 0 {
			continue
		}
		h := math.Max(2, float64(p.Attempts)/float64(peak)*c.H)
		class := "ok"
		switch fail := float64(p.Attempts-p.Successes) / float64(p.Attempts); {
		case fail > 0.5:
			class = "bad"
		case fail > 0:
			class = "warn"
		}
		c.Bars = append(c.Bars, bar{X: round1(float64(i) * bw), Y: round1(c.H - h), W: round1(math.Max(1, bw-1)), H: round1(h), Class: class})
		c.Rows = append(c.Rows, chartRow{Label: hourLabel(t), Values: []string{v.Num(p.Attempts), v.Pct(p.Successes, p.Attempts)}})
	}
	return c
}

// rateChart draws each hour's success rate as a bar from 0 to 100 %.
func rateChart(v *view, since time.Time, step time.Duration, n int, pts map[time.Time]*hookd.HealthPoint) chart {
	c := chart{ID: "rate", Kind: "rate", Title: v.T("chart.rate"), W: 300, H: 90,
		Cols: []string{v.T("chart.hour"), v.T("webhook.attempts"), v.T("webhook.successrate")}}
	var total, ok int64
	for _, p := range pts {
		total += p.Attempts
		ok += p.Successes
	}
	c.Empty = total == 0
	c.Desc = v.Tf("chart.rate.desc", v.Num(total)) + " " + v.T("webhook.successrate") + ": " + v.Pct(ok, total) + "."
	const top, bottom = 6.0, 16.0
	plot := c.H - top - bottom
	bw := c.W / float64(n)
	for i, t := range slots(since, step, n) {
		p := pts[t]
		if p == nil || p.Attempts == 0 {
			continue
		}
		r := float64(p.Successes) / float64(p.Attempts)
		class := "ok"
		if r < 0.5 {
			class = "bad"
		} else if r < 1 {
			class = "warn"
		}
		h := math.Max(1.5, r*plot)
		c.Bars = append(c.Bars, bar{X: round1(float64(i)*bw + 0.5), Y: round1(top + plot - h), W: round1(bw - 1), H: round1(h), Class: class,
			Tip: hourLabel(t) + ": " + v.Pct(p.Successes, p.Attempts)})
		c.Rows = append(c.Rows, chartRow{Label: hourLabel(t), Values: []string{v.Num(p.Attempts), v.Pct(p.Successes, p.Attempts)}})
	}
	for i := 0; i < n; i += 6 {
		c.Axis = append(c.Axis, axisLabel{X: round1(float64(i)*bw + 0.5), Y: c.H - 3, Text: hourLabel(since.Add(time.Duration(i) * step))})
	}
	return c
}

// latencyChart draws each hour's p50 and p99 as two lines on a log scale
// (1 ms to 30 s), so that a slow tail and a fast median both show.
func latencyChart(v *view, since time.Time, step time.Duration, n int, pts map[time.Time]*hookd.HealthPoint) chart {
	c := chart{ID: "latency", Kind: "latency", Title: v.T("chart.latency"), W: 300, H: 90,
		Cols: []string{v.T("chart.hour"), "p50", "p99"}}
	const top, bottom = 6.0, 16.0
	plot := c.H - top - bottom
	bw := c.W / float64(n)
	y := func(ms float64) float64 {
		l := math.Log10(math.Max(1, ms)) / math.Log10(30000)
		return round1(top + plot - math.Min(1, l)*plot)
	}
	var p50s, p99s []string
	var all hookd.Histogram
	for i, t := range slots(since, step, n) {
		p := pts[t]
		if p == nil || p.Attempts == 0 {
			continue
		}
		all.Add(p.Latency)
		a, _ := p.Latency.Quantile(0.5)
		b, _ := p.Latency.Quantile(0.99)
		x := strconv.FormatFloat(round1(float64(i)*bw+bw/2), 'f', -1, 64)
		p50s = append(p50s, x+","+strconv.FormatFloat(y(a), 'f', -1, 64))
		p99s = append(p99s, x+","+strconv.FormatFloat(y(b), 'f', -1, 64))
		c.Rows = append(c.Rows, chartRow{Label: hourLabel(t), Values: []string{v.MS(a), v.MS(b)}})
	}
	c.Empty = len(c.Rows) == 0
	c.Desc = "p50 " + v.Quantile(all, 0.5) + ", p99 " + v.Quantile(all, 0.99) + "."
	if len(p50s) == 1 { // one point: a short flat line to be seen
		p50s = append(p50s, shift(p50s[0], 4))
		p99s = append(p99s, shift(p99s[0], 4))
	}
	c.Lines = []line{{Points: strings.Join(p99s, " "), Class: "p99"}, {Points: strings.Join(p50s, " "), Class: "p50"}}
	for _, ms := range []float64{10, 100, 1000, 10000} {
		c.Axis = append(c.Axis, axisLabel{X: 1, Y: y(ms) - 2, Text: v.MS(ms)})
	}
	return c
}

func shift(pt string, dx float64) string {
	x, y, _ := strings.Cut(pt, ",")
	f, _ := strconv.ParseFloat(x, 64)
	return strconv.FormatFloat(f+dx, 'f', -1, 64) + "," + y
}
