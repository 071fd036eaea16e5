package console

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/roll"
)

// The charts are drawn here as SVG, inline in the page: no script, nothing
// to install, and the strict CSP holds (presentation attributes, no style).

// waterfall draws a link's match weights the way Splink's waterfall chart
// does: the prior (log2 of the chance that two records picked at random
// are one person), then each field's weight (log2 m/u: up when the field
// agrees as it would for one person, down when it speaks against), ending
// at the posterior score. The figures are the case's stored evidence.
func waterfall(ev *dedup.Evidence, en bool) template.HTML {
	type step struct {
		label    string
		from, to float64
		total    bool
	}
	prior := ev.Posterior - ev.Total
	steps := []step{{pick(en, "先验", "prior"), 0, prior, true}}
	at := prior
	for _, f := range ev.Fields {
		label := fieldLabel(f.Field, en)
		if f.Level != "" {
			label += " · " + fieldLabel(f.Level, en)
		}
		steps = append(steps, step{label, at, at + f.Weight, false})
		at += f.Weight
	}
	steps = append(steps, step{pick(en, "得分", "score"), 0, ev.Posterior, true})

	lo, hi := 0.0, 0.0
	for _, s := range steps {
		lo, hi = math.Min(lo, math.Min(s.from, s.to)), math.Max(hi, math.Max(s.from, s.to))
	}
	if hi-lo < 1 {
		hi = lo + 1
	}
	const barW, gap, top, plotH, left, labelH = 46, 14, 20, 220, 44, 90
	width := left + len(steps)*(barW+gap) + gap
	y := func(v float64) float64 { return top + (hi-v)/(hi-lo)*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart waterfall" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		width, top+plotH+labelH, width, top+plotH+labelH, html.EscapeString(pick(en, "匹配权重瀑布图", "match-weight waterfall")))
	// The zero line and the axis's ends.
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#888" stroke-dasharray="3 3"/>`, left, width, y(0), y(0))
	for _, v := range []float64{hi, 0, lo} {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#555">%.0f</text>`, left-4, y(v)+4, v)
	}
	for i, s := range steps {
		x := left + gap + i*(barW+gap)
		y0, y1 := y(math.Max(s.from, s.to)), y(math.Min(s.from, s.to))
		color := "#3a7d44" // for
		switch {
		case s.total:
			color = "#35618f"
		case s.to < s.from:
			color = "#b23a3a" // against
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s: %+.2f</title></rect>`,
			x, y0, barW, math.Max(y1-y0, 1), color, html.EscapeString(s.label), s.to-s.from)
		val := s.to - s.from
		if s.total {
			val = s.to
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="middle">%+.1f</text>`, x+barW/2, y0-4, val)
		fmt.Fprintf(&b, `<text font-size="11" text-anchor="end" transform="translate(%d %d) rotate(-40)">%s</text>`,
			x+barW/2+4, top+plotH+14, html.EscapeString(s.label))
		if i+1 < len(steps) && !steps[i+1].total { // the connector to the next step
			fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#999"/>`, x+barW, x+barW+gap, y(s.to), y(s.to))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// perDayChart draws registrations per day as bars.
func perDayChart(days []roll.DayCount, en bool) template.HTML {
	if len(days) > 120 {
		days = days[len(days)-120:] // the last four months
	}
	maxN := 1
	for _, d := range days {
		maxN = max(maxN, d.Count)
	}
	const plotH, top, left, bottom = 160, 16, 50, 40
	barW := 14
	if len(days) > 40 {
		barW = 6
	}
	width := left + len(days)*(barW+2) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart perday" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		width, top+plotH+bottom, width, top+plotH+bottom, html.EscapeString(pick(en, "每日登记数", "registrations per day")))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#555">%d</text>`, left-4, top+4, maxN)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#555">0</text>`, left-4, top+plotH)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#888"/>`, left, width, top+plotH, top+plotH)
	for i, d := range days {
		h := float64(d.Count) / float64(maxN) * plotH
		x := left + 2 + i*(barW+2)
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="#35618f"><title>%s: %d</title></rect>`,
			x, float64(top+plotH)-h, barW, h, d.Day, d.Count)
		if i == 0 || i == len(days)-1 || (len(days) > 10 && i%(len(days)/5) == 0) {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="middle">%s</text>`, x+barW/2, top+plotH+14, d.Day[5:])
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func pick(en bool, zh, english string) string {
	if en {
		return english
	}
	return zh
}
