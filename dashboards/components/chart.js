// Geometry shared by the dashboards' SVG charts (TrendChart, FunnelPlot): the plot area inside
// the margins, linear scales onto it and round tick values, written once so every chart
// spaces, scales and labels its value axis the same way (drawn by ValueAxis.svelte).

/** The plot area inside `margin` of a `width` x `height` chart (never narrower than 120 px). */
export function plotArea(width, height, margin) {
	const innerW = Math.max(120, width - margin.left - margin.right);
	const innerH = height - margin.top - margin.bottom;
	return { ...margin, innerW, innerH, right: margin.left + innerW, bottom: margin.top + innerH };
}

/** x scale: `lo..hi` onto the plot's width (a single value sits in the middle). */
export function xScale(area, lo, hi) {
	return (v) => area.left + (hi === lo ? area.innerW / 2 : ((v - lo) / (hi - lo)) * area.innerW);
}

/** y scale: `lo..hi` onto the plot's height, upwards. */
export function yScale(area, lo, hi) {
	return (v) => area.bottom - ((v - lo) / (hi - lo || 1)) * area.innerH;
}

/** About `n` round values (steps of 1, 2, 2.5 or 5 times a power of ten) from lo to hi. */
export function niceTicks(lo, hi, n = 5) {
	const step0 = (hi - lo) / n;
	const mag = 10 ** Math.floor(Math.log10(step0 || 1));
	const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? mag * 10;
	const out = [];
	for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(+v.toFixed(10));
	return out;
}
