// Number, date and text formatting shared by the dashboards' components (one place, so every
// page writes a value the same way), and how components read Evidence query results.
import { Query } from '@evidence-dev/sdk/usql';

const nf = (digits) =>
	new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const FORMATS = { int: nf(0), num1: nf(1), num2: nf(2) };

/** Turn an Evidence query result (array-like) or array into a plain array of rows. */
export function rowsOf(data) {
	if (!data) return [];
	try {
		return Array.from(data);
	} catch {
		return [];
	}
}

/** Rows whose columns equal every value of `where` ({column: value}); all rows without it. */
export function matching(rows, where) {
	if (!where) return rows;
	const entries = Object.entries(where);
	return rows.filter((r) => entries.every(([k, v]) => r[k] === v));
}

/**
 * Follow a query result: Evidence loads a query's rows only when asked (fetch) and announces
 * them to its subscribers, so a component must subscribe rather than read the rows once.
 * `set(rows, loaded)` is called now and on every change; returns the unsubscribe function.
 * Plain arrays are passed through.
 */
export function followRows(data, set) {
	if (Query.isQuery(data)) {
		data.fetch();
		return data.subscribe((q) => set(q.dataLoaded ? rowsOf(q) : [], Boolean(q.dataLoaded)));
	}
	set(rowsOf(data), true);
	return () => {};
}

/** A value as text: fmt = int | num1 | num2 | pct (0-1 share) | usd | date | month | year | text. */
export function formatValue(value, fmt) {
	if (value === null || value === undefined || value === '') return '';
	if (typeof value === 'number' && !Number.isFinite(value)) return '';
	switch (fmt) {
		case 'int':
		case 'num1':
		case 'num2':
			return typeof value === 'number' ? FORMATS[fmt].format(value) : String(value);
		case 'pct':
			return typeof value === 'number' ? `${Math.round(value * 100)} %` : String(value);
		case 'usd':
			return typeof value === 'number' ? usd(value) : String(value);
		case 'date':
		case 'month':
		case 'year':
			return dateText(value, fmt);
		default:
			return String(value);
	}
}

export function usd(value) {
	const abs = Math.abs(value);
	if (abs >= 1e9) return `$${nf(1).format(value / 1e9)} billion`;
	if (abs >= 1e6) return `$${nf(1).format(value / 1e6)} million`;
	return `$${nf(0).format(value)}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Dates arrive as Date objects or ISO text; shown in UTC (the data's dates carry no zone). */
export function toDate(value) {
	if (value instanceof Date) return value;
	const d = new Date(typeof value === 'number' ? value : String(value));
	return Number.isNaN(d.getTime()) ? null : d;
}

export function dateText(value, fmt = 'date') {
	const d = toDate(value);
	if (!d) return String(value ?? '');
	const y = d.getUTCFullYear();
	if (fmt === 'year') return String(y);
	if (fmt === 'month') return `${MONTHS[d.getUTCMonth()]} ${y}`;
	return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${y}`;
}

/** A period in words from its start and grain: "26 May 2022", "Nov 2022", "2015". */
export function periodText(value, grain) {
	return dateText(value, grain === 'day' ? 'date' : grain === 'year' ? 'year' : 'month');
}

/** CSV text (RFC 4180): every field quoted when needed, objects written as JSON. */
export function toCSV(rows, columns) {
	const cell = (v) => {
		if (v === null || v === undefined) return '';
		let text;
		if (v instanceof Date) text = v.toISOString().slice(0, 10);
		else if (typeof v === 'object') text = JSON.stringify(v);
		else text = String(v);
		return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
	};
	const header = columns.map((c) => cell(c.title ?? c.id)).join(',');
	const lines = rows.map((r) => columns.map((c) => cell(r[c.id])).join(','));
	return [header, ...lines].join('\r\n') + '\r\n';
}
