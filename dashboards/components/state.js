// Choices that follow the reader from page to page: the city (in the URL as ?city=, and kept
// in this browser's localStorage so a link without it opens the last city chosen).
import { writable } from 'svelte/store';

export const CITY_PARAM = 'city';
const STORAGE_PREFIX = 'civic:';

/** The current city id ('' until a page has chosen one). */
export const currentCity = writable('');

export function remembered(key) {
	try {
		return globalThis.localStorage?.getItem(STORAGE_PREFIX + key) ?? null;
	} catch {
		return null;
	}
}

export function remember(key, value) {
	try {
		globalThis.localStorage?.setItem(STORAGE_PREFIX + key, value);
	} catch {
		/* storage unavailable (private mode): the URL still carries the choice */
	}
}

/** `href` with ?city=<city> added (internal page links only). */
export function withCity(href, city) {
	if (!city || !href.startsWith('/')) return href;
	const url = new URL(href, 'http://site.invalid');
	url.searchParams.set(CITY_PARAM, city);
	return url.pathname + url.search + url.hash;
}
