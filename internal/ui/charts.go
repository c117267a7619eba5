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
//
// Every chart has the same frame whatever its data: a fixed number of time
// slots (an hour each) on the x axis, gridlines with their values on the
// left, and a faint mark on the baseline for a slot without attempts, so
// that one point, a few and a full day all read as a chart (one bar alone
// is the last hour of a quiet day, not a stray line). The SVG is drawn at
// about the size it is shown, so its labels keep their size.

type bar struct {
	X, Y, W, H float64
	Class      string
	Tip        string
}

type line struct {
	Points string
	Class  string
}

type dot struct {
	X, Y  float64
	Class string
	Tip   string
}

// gridLine is a horizontal line across the plot with its value on the left.
type gridLine struct {
	Y, X1, X2 float64
	Text      string
}

// LX is where the line's value is written: right-aligned left of the plot.
func (g gridLine) LX() float64 { return g.X1 - 6 }

// LY is the value's baseline: centred on the line.
func (g gridLine) LY() float64 { return g.Y + 3.5 }

type chartRow struct {
	Label  string
	Values []string
}

type legendItem struct {
	Class, Text string
}

type chart struct {
	ID          string // unique in the page: the aria ids derive from it
	Kind        string // the CSS class: deliveries, spark, rate, latency
	Title, Desc string
	W, H        float64
	Bars        []bar
	Lines       []line
	Dots        []dot
	Grid        []gridLine
	Axis        []axisLabel
	Cols        []string
	Rows        []chartRow
	Legend      []legendItem
	Empty       bool
	EmptyText   string
	Numbers     string // the label of the table of numbers
	// CenterX, CenterY place EmptyText in the plot.
	CenterX, CenterY float64
}

type axisLabel struct {
	X, Y float64
	Text string
}

// ViewBox is the chart's SVG viewBox.
func (c chart) ViewBox() string { return fmt.Sprintf("0 0 %g %g", c.W, c.H) }

// chartHours is how many hourly slots a day's chart has: the current hour
// and the 23 before it.
const chartHours = 24

// daySince is the start of a day's chart at now: the start of the hour 23
// hours before the current one.
func daySince(now time.Time) time.Time {
	return now.UTC().Truncate(time.Hour).Add(-(chartHours - 1) * time.Hour)
}

// frame is a chart's plot area inside its margins, divided into n slots.
type frame struct {
	left, top, right, bottom float64 // the plot's edges
	n                        int
	since                    time.Time
	step                     time.Duration
}

func newFrame(w, h, padLeft, padTop, padRight, padBottom float64, since time.Time, step time.Duration, n int) frame {
	return frame{left: padLeft, top: padTop, right: w - padRight, bottom: h - padBottom, n: n, since: since, step: step}
}

func (f frame) slotW() float64        { return (f.right - f.left) / float64(f.n) }
func (f frame) slotX(i int) float64   { return f.left + float64(i)*f.slotW() }
func (f frame) slotMid(i int) float64 { return f.slotX(i) + f.slotW()/2 }
func (f frame) height() float64       { return f.bottom - f.top }
func (f frame) start(i int) time.Time { return f.since.Add(time.Duration(i) * f.step) }
func (f frame) barW() float64         { return math.Max(1, f.slotW()*0.7) }
func (f frame) barX(i int) float64    { return f.slotX(i) + (f.slotW()-f.barW())/2 }
func (f frame) centre() (x, y float64) {
	return round1((f.left + f.right) / 2), round1(f.top + f.height()/2 + 4)
}
func (f frame) point(t time.Time) int   { return int(t.Sub(f.since) / f.step) }
func (f frame) inside(t time.Time) bool { i := f.point(t); return !t.Before(f.since) && i < f.n }

// gap marks a slot without attempts on the baseline.
func (f frame) gap(i int) bar {
	return bar{X: round1(f.barX(i)), Y: round1(f.bottom - 1.5), W: round1(f.barW()), H: 1.5, Class: "none"}
}

// hourTicks labels the slots that start a 6-hour block (00, 06, 12, 18
// UTC) at their left edge, so labels sit on the same hours whatever the
// time of day; and the last slot's end as "now" would crowd: the table and
// the title say where the window ends.
func (f frame) hourTicks(y float64) []axisLabel {
	var out []axisLabel
	for i := 0; i < f.n; i++ {
		t := f.start(i)
		if t.Hour()%6 != 0 || t.Minute() != 0 {
			continue
		}
		x := f.slotX(i)
		if x < f.left+14 || x > f.right-14 { // would leave the plot
			continue
		}
		out = append(out, axisLabel{X: round1(x), Y: y, Text: hourLabel(t)})
	}
	return out
}

// bySlot puts points into the frame's slots (a point outside is dropped).
func (f frame) bySlot(pts map[time.Time]*hookd.HealthPoint) []*hookd.HealthPoint {
	out := make([]*hookd.HealthPoint, f.n)
	for t, p := range pts {
		if p == nil || p.Attempts == 0 || !f.inside(t) {
			continue
		}
		i := f.point(t)
		if out[i] == nil {
			cp := *p
			cp.Latency = append(hookd.Histogram(nil), p.Latency...)
			out[i] = &cp
			continue
		}
		out[i].Attempts += p.Attempts
		out[i].Successes += p.Successes
		out[i].Latency.Add(p.Latency)
	}
	return out
}

func hourLabel(t time.Time) string { return t.UTC().Format("15:04") }

// slotLabel names a slot for the table and tooltips: "14:00–15:00".
func slotLabel(t time.Time, step time.Duration) string {
	return hourLabel(t) + "–" + hourLabel(t.Add(step))
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// niceCeil returns the smallest of 1, 2, 5 × 10^k at or above n (at least 1):
// the top of a count axis.
func niceCeil(n int64) int64 {
	if n <= 1 {
		return 1
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

// deliveryChart stacks each hour's successful and failed attempts, on a
// count axis from 0 to a round number at or above the busiest hour.
func deliveryChart(v *view, since time.Time, step time.Duration, n int, pts map[time.Time]*hookd.HealthPoint) chart {
	c := chart{ID: "deliveries", Kind: "deliveries", Numbers: v.T("chart.table"), Title: v.T("chart.deliveries"), W: 560, H: 160,
		Cols:   []string{v.T("chart.hour"), v.T("chart.ok"), v.T("chart.failed")},
		Legend: []legendItem{{"ok", v.T("chart.ok")}, {"bad", v.T("chart.failed")}}}
	f := newFrame(c.W, c.H, 44, 8, 6, 22, since, step, n)
	slots := f.bySlot(pts)
	var peak, total int64
	for _, p := range slots {
		if p != nil {
			peak = max(peak, p.Attempts)
			total += p.Attempts
		}
	}
	top := niceCeil(peak)
	c.Empty = total == 0
	c.Desc = v.Tf("chart.rate.desc", v.Num(total))
	for _, val := range []int64{0, top / 2, top} {
		if val == top/2 && top < 2 {
			continue
		}
		y := round1(f.bottom - float64(val)/float64(top)*f.height())
		c.Grid = append(c.Grid, gridLine{Y: y, X1: f.left, X2: f.right, Text: v.Num(val)})
	}
	for i, p := range slots {
		if p == nil {
			c.Bars = append(c.Bars, f.gap(i))
			continue
		}
		failed := p.Attempts - p.Successes
		hOK := float64(p.Successes) / float64(top) * f.height()
		hBad := float64(failed) / float64(top) * f.height()
		if p.Successes > 0 {
			hOK = math.Max(hOK, 2)
		}
		if failed > 0 {
			hBad = math.Max(hBad, 2)
		}
		t := f.start(i)
		tip := fmt.Sprintf("%s: %s %s, %s %s", slotLabel(t, step), v.Num(p.Successes), v.T("chart.ok"), v.Num(failed), v.T("chart.failed"))
		x, w := round1(f.barX(i)), round1(f.barW())
		if hOK > 0 {
			c.Bars = append(c.Bars, bar{X: x, Y: round1(f.bottom - hOK), W: w, H: round1(hOK), Class: "ok", Tip: tip})
		}
		if hBad > 0 {
			c.Bars = append(c.Bars, bar{X: x, Y: round1(f.bottom - hOK - hBad), W: w, H: round1(hBad), Class: "bad", Tip: tip})
		}
		c.Rows = append(c.Rows, chartRow{Label: slotLabel(t, step), Values: []string{v.Num(p.Successes), v.Num(failed)}})
	}
	c.Axis = f.hourTicks(c.H - 6)
	c.EmptyText = v.T("chart.nodata")
	c.CenterX, c.CenterY = f.centre()
	return c
}

// sparkline is a webhook's last 24 hours in one small row of bars: height
// the attempts, colour the share that failed; an hour without attempts is
// a dot on the baseline.
func sparkline(v *view, since time.Time, step time.Duration, n int, pts map[time.Time]*hookd.HealthPoint) chart {
	c := chart{ID: "spark", Kind: "spark", Title: v.T("webhooks.day"), W: 120, H: 28,
		Cols: []string{v.T("chart.hour"), v.T("webhook.attempts"), v.T("webhook.successrate")}}
	f := newFrame(c.W, c.H, 0, 2, 0, 1, since, step, n)
	slots := f.bySlot(pts)
	var peak, total, ok int64
	for _, p := range slots {
		if p != nil {
			peak = max(peak, p.Attempts)
			total += p.Attempts
			ok += p.Successes
		}
	}
	c.Empty = total == 0
	c.Desc = v.Tf("chart.rate.desc", v.Num(total)) + " " + v.T("webhook.successrate") + ": " + v.Pct(ok, total) + "."
	for i, p := range slots {
		if p == nil {
			c.Bars = append(c.Bars, bar{X: round1(f.barX(i)), Y: round1(f.bottom - 1), W: round1(f.barW()), H: 1, Class: "none"})
			continue
		}
		h := math.Max(3, float64(p.Attempts)/float64(peak)*f.height())
		class := "ok"
		switch fail := float64(p.Attempts-p.Successes) / float64(p.Attempts); {
		case fail > 0.5:
			class = "bad"
		case fail > 0:
			class = "warn"
		}
		c.Bars = append(c.Bars, bar{X: round1(f.barX(i)), Y: round1(f.bottom - h), W: round1(f.barW()), H: round1(h), Class: class,
			Tip: slotLabel(f.start(i), step) + ": " + v.Num(p.Attempts) + " · " + v.Pct(p.Successes, p.Attempts)})
		c.Rows = append(c.Rows, chartRow{Label: slotLabel(f.start(i), step), Values: []string{v.Num(p.Attempts), v.Pct(p.Successes, p.Attempts)}})
	}
	return c
}

// rateChart draws each hour's success rate as a bar on a 0–100 % axis.
func rateChart(v *view, since time.Time, step time.Duration, n int, pts map[time.Time]*hookd.HealthPoint) chart {
	c := chart{ID: "rate", Kind: "rate", Numbers: v.T("chart.table"), Title: v.T("chart.rate"), W: 560, H: 160,
		Cols:   []string{v.T("chart.hour"), v.T("webhook.attempts"), v.T("webhook.successrate")},
		Legend: []legendItem{{"ok", v.PctWhole(100)}, {"warn", v.T("chart.some")}, {"bad", "< " + v.PctWhole(50)}}}
	f := newFrame(c.W, c.H, 44, 8, 6, 22, since, step, n)
	slots := f.bySlot(pts)
	var total, ok int64
	for _, p := range slots {
		if p != nil {
			total += p.Attempts
			ok += p.Successes
		}
	}
	c.Empty = total == 0
	c.Desc = v.Tf("chart.rate.desc", v.Num(total)) + " " + v.T("webhook.successrate") + ": " + v.Pct(ok, total) + "."
	for _, r := range []int64{0, 50, 100} {
		c.Grid = append(c.Grid, gridLine{Y: round1(f.bottom - float64(r)/100*f.height()), X1: f.left, X2: f.right, Text: v.PctWhole(r)})
	}
	for i, p := range slots {
		if p == nil {
			c.Bars = append(c.Bars, f.gap(i))
			continue
		}
		r := float64(p.Successes) / float64(p.Attempts)
		class := "ok"
		if r < 0.5 {
			class = "bad"
		} else if r < 1 {
			class = "warn"
		}
		h := math.Max(2, r*f.height()) // 0 % still shows, red, on the baseline
		t := f.start(i)
		c.Bars = append(c.Bars, bar{X: round1(f.barX(i)), Y: round1(f.bottom - h), W: round1(f.barW()), H: round1(h), Class: class,
			Tip: slotLabel(t, step) + ": " + v.Pct(p.Successes, p.Attempts) + " (" + v.Num(p.Attempts) + ")"})
		c.Rows = append(c.Rows, chartRow{Label: slotLabel(t, step), Values: []string{v.Num(p.Attempts), v.Pct(p.Successes, p.Attempts)}})
	}
	c.Axis = f.hourTicks(c.H - 6)
	c.EmptyText = v.T("chart.nodata")
	c.CenterX, c.CenterY = f.centre()
	return c
}

// latencyChart draws each hour's p50 and p99 on a log scale of whole
// decades around the data (at least two), as dots joined where hours
// follow each other: one hour shows as two dots, a gap breaks the lines.
func latencyChart(v *view, since time.Time, step time.Duration, n int, pts map[time.Time]*hookd.HealthPoint) chart {
	c := chart{ID: "latency", Kind: "latency", Numbers: v.T("chart.table"), Title: v.T("chart.latency"), W: 560, H: 160,
		Cols:   []string{v.T("chart.hour"), "p50", "p99"},
		Legend: []legendItem{{"p50", "p50"}, {"p99", "p99"}}}
	f := newFrame(c.W, c.H, 44, 8, 6, 22, since, step, n)
	slots := f.bySlot(pts)
	type q struct{ p50, p99 float64 }
	qs := make([]*q, len(slots))
	var all hookd.Histogram
	lo, hi := math.Inf(1), 0.0
	for i, p := range slots {
		if p == nil {
			continue
		}
		all.Add(p.Latency)
		a, ok1 := p.Latency.Quantile(0.5)
		b, ok2 := p.Latency.Quantile(0.99)
		if !ok1 || !ok2 {
			continue
		}
		qs[i] = &q{a, b}
		lo, hi = math.Min(lo, a), math.Max(hi, b)
	}
	// Whole decades around the data, at least two, from 1 ms.
	dLo, dHi := 0.0, 3.0
	if hi > 0 {
		dLo = math.Max(0, math.Floor(math.Log10(math.Max(1, lo))))
		dHi = math.Max(dLo+2, math.Ceil(math.Log10(math.Max(1, hi))+1e-9))
	}
	y := func(ms float64) float64 {
		l := (math.Log10(math.Max(1, ms)) - dLo) / (dHi - dLo)
		return round1(f.bottom - math.Max(0, math.Min(1, l))*f.height())
	}
	for d := dLo; d <= dHi; d++ {
		c.Grid = append(c.Grid, gridLine{Y: y(math.Pow(10, d)), X1: f.left, X2: f.right, Text: v.MSShort(math.Pow(10, d))})
	}
	var run50, run99 []string
	flush := func() {
		if len(run50) > 1 {
			c.Lines = append(c.Lines, line{Points: strings.Join(run99, " "), Class: "p99"}, line{Points: strings.Join(run50, " "), Class: "p50"})
		}
		run50, run99 = nil, nil
	}
	for i, x := range qs {
		if x == nil {
			if slots[i] == nil {
				c.Bars = append(c.Bars, f.gap(i))
			}
			flush()
			continue
		}
		px := round1(f.slotMid(i))
		xs := strconv.FormatFloat(px, 'f', -1, 64)
		run50 = append(run50, xs+","+strconv.FormatFloat(y(x.p50), 'f', -1, 64))
		run99 = append(run99, xs+","+strconv.FormatFloat(y(x.p99), 'f', -1, 64))
		t := f.start(i)
		c.Dots = append(c.Dots, dot{X: px, Y: y(x.p99), Class: "p99", Tip: slotLabel(t, step) + ": p99 " + v.MS(x.p99)},
			dot{X: px, Y: y(x.p50), Class: "p50", Tip: slotLabel(t, step) + ": p50 " + v.MS(x.p50)})
		c.Rows = append(c.Rows, chartRow{Label: slotLabel(t, step), Values: []string{v.MS(x.p50), v.MS(x.p99)}})
	}
	flush()
	c.Empty = len(c.Rows) == 0
	c.Desc = "p50 " + v.Quantile(all, 0.5) + ", p99 " + v.Quantile(all, 0.99) + "."
	if c.Empty {
		c.Desc = v.T("chart.nodata")
	}
	c.Axis = f.hourTicks(c.H - 6)
	c.EmptyText = v.T("chart.nodata")
	c.CenterX, c.CenterY = f.centre()
	return c
}
