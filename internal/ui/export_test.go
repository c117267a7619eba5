package ui

import (
	"time"

	"github.com/hookd/hookd"
)

// Shape is a drawn chart's geometry, for charts_test.go.
type Shape struct {
	Kind       string
	W, H       float64
	Bars, Gaps [][4]float64 // x, y, w, h of the data bars and of the marks of empty slots
	Dots       [][2]float64
	Lines      int
	XLabels    [][2]float64 // x, y of the hour labels
	GridLabels [][2]float64
	Empty      bool
	Rows       int
}

// DayCharts draws a day's four charts of pts at now, as the pages do.
func DayCharts(lang string, now time.Time, pts map[time.Time]*hookd.HealthPoint) []Shape {
	v := &view{Lang: lang, now: now}
	since := daySince(now)
	var out []Shape
	for _, c := range []chart{deliveryChart(v, since, time.Hour, chartHours, pts), sparkline(v, since, time.Hour, chartHours, pts),
		rateChart(v, since, time.Hour, chartHours, pts), latencyChart(v, since, time.Hour, chartHours, pts)} {
		s := Shape{Kind: c.Kind, W: c.W, H: c.H, Lines: len(c.Lines), Empty: c.Empty, Rows: len(c.Rows)}
		for _, b := range c.Bars {
			r := [4]float64{b.X, b.Y, b.W, b.H}
			if b.Class == "none" {
				s.Gaps = append(s.Gaps, r)
			} else {
				s.Bars = append(s.Bars, r)
			}
		}
		for _, d := range c.Dots {
			s.Dots = append(s.Dots, [2]float64{d.X, d.Y})
		}
		for _, a := range c.Axis {
			s.XLabels = append(s.XLabels, [2]float64{a.X, a.Y})
		}
		for _, g := range c.Grid {
			s.GridLabels = append(s.GridLabels, [2]float64{g.LX(), g.LY()})
		}
		out = append(out, s)
	}
	return out
}
