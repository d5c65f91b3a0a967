#!/usr/bin/env node
/**
 * Offline patch for Evidence's universal-sql (run by `npm ci` / `npm install` via "postinstall").
 *
 * Problem: DuckDB-Wasm (used by `evidence sources`, `evidence build` and the browser) does not
 * bundle the parquet extension. The first `read_parquet(...)` / `COPY ... (FORMAT PARQUET)`
 * makes it download the extension from extensions.duckdb.org, which hangs on a closed network
 * (evidence-dev/evidence#3155, duckdb/duckdb-wasm#2010).
 *
 * Fix: never ask DuckDB-Wasm to touch Parquet. Parquet is read and written with `parquet-wasm`
 * (already a dependency of universal-sql) and handed to DuckDB-Wasm as Arrow IPC via
 * `insertArrowFromIPCStream`, which is built in. Extension autoinstall/autoload is also switched
 * off, so any query that would need another extension fails fast instead of hanging.
 *
 * The patch is pinned: it checks the exact package versions and the exact code it replaces,
 * and exits non-zero (failing the install) if anything differs. It is idempotent.
 *
 * Usage: node scripts/patch-offline-parquet.mjs [--check]
 *   --check  only verify that the patch is applied (exit 1 if not)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USQL = path.join(ROOT, 'node_modules/@evidence-dev/universal-sql');
const MARKER = '/* civic-offline-parquet-patch v2 */';
// Files patched by an earlier version of this script: `npm ci` restores the originals first.
const OLD_MARKER = /\/\* civic-offline-parquet-patch v\d+ \*\//;

const EXPECTED_VERSIONS = {
	'@evidence-dev/evidence': '40.1.8',
	'@evidence-dev/universal-sql': '3.0.1',
	'@duckdb/duckdb-wasm': '1.32.0',
	'parquet-wasm': '0.5.0',
	'apache-arrow': '17.0.0'
};

// ---------------------------------------------------------------------------------------------
// Node client (used at build time to prerender pages): read Parquet from disk with parquet-wasm.
// ---------------------------------------------------------------------------------------------
const NODE_IMPORT_OLD = `import { withTimeout } from './both.js';\n`;
const NODE_IMPORT_NEW = `import { withTimeout } from './both.js';
${MARKER}
import { readFileSync } from 'fs';
import { readParquet as readParquetWasm } from 'parquet-wasm/node/arrow1.js';
`;

const NODE_REGISTER_OLD = `			db.registerFileURL(
				file_name,
				url.split(pathDelimiterRegex).join(path.sep),
				DuckDBDataProtocol.NODE_FS,
				false
			);
			connection.query(
				\`CREATE OR REPLACE VIEW "\${source}"."\${table}" AS (SELECT * FROM read_parquet('\${file_name}'));\`
			);
`;
const NODE_REGISTER_NEW = `			${MARKER}
			// Offline: parquet-wasm -> Arrow IPC -> DuckDB table (no parquet extension download).
			const parquetBytes = readFileSync(url.split(pathDelimiterRegex).join(path.sep));
			const ipc = readParquetWasm(new Uint8Array(parquetBytes)).intoIPCStream();
			connection.query(\`DROP VIEW IF EXISTS "\${source}"."\${table}";\`);
			connection.query(\`DROP TABLE IF EXISTS "\${source}"."\${table}";\`);
			connection.insertArrowFromIPCStream(ipc, { schema: source, name: table, create: true });
`;

// ---------------------------------------------------------------------------------------------
// Browser client: fetch the Parquet file from the same origin, decode it with parquet-wasm
// (its .wasm is bundled by Vite as a local asset) and insert it as Arrow.
// ---------------------------------------------------------------------------------------------
const BROWSER_IMPORT_OLD = `export { tableFromIPC } from 'apache-arrow';\n`;
const BROWSER_IMPORT_NEW = `export { tableFromIPC } from 'apache-arrow';
${MARKER}
import initParquetWasm, { readParquet as readParquetWasm } from 'parquet-wasm/esm/arrow1.js';
import parquetWasmUrl from 'parquet-wasm/esm/arrow1_bg.wasm?url';

let parquetWasmReady;
async function parquetToIPC(url) {
	parquetWasmReady ??= initParquetWasm(parquetWasmUrl);
	await parquetWasmReady;
	const res = await fetch(url);
	if (!res.ok) throw new Error(\`Failed to fetch \${url}: HTTP \${res.status}\`);
	const bytes = new Uint8Array(await res.arrayBuffer());
	return readParquetWasm(bytes).intoIPCStream();
}
`;

const BROWSER_REGISTER_OLD = `				await db.registerFileURL(file_name, addBasePath(path), DuckDBDataProtocol.HTTP, false);
				await connection.query(
					\`CREATE OR REPLACE VIEW "\${source}"."\${table}" AS (SELECT * FROM read_parquet('\${file_name}'));\`
				);
`;
const BROWSER_REGISTER_NEW = `				${MARKER}
				// Offline: parquet-wasm -> Arrow IPC -> DuckDB table (no parquet extension download).
				const ipc = await parquetToIPC(addBasePath(path));
				await connection.query(\`DROP VIEW IF EXISTS "\${source}"."\${table}";\`);
				await connection.query(\`DROP TABLE IF EXISTS "\${source}"."\${table}";\`);
				await connection.insertArrowFromIPCStream(ipc, { schema: source, name: table, create: true });
`;

// ---------------------------------------------------------------------------------------------
// `evidence sources`: merge the per-batch Parquet files with parquet-wasm instead of
// DuckDB-Wasm's read_parquet + COPY ... (FORMAT 'PARQUET').
// ---------------------------------------------------------------------------------------------
const BUILD_IMPORT_OLD = `import {
	Compression,
	writeParquet,
	WriterPropertiesBuilder,
	Table
} from 'parquet-wasm/node/arrow1.js';
`;
const BUILD_IMPORT_NEW = `import {
	Compression,
	writeParquet,
	WriterPropertiesBuilder,
	Table,
	readParquet as readParquetWasm
} from 'parquet-wasm/node/arrow1.js';
import { tableFromIPC as tableFromIPCStream, Table as ArrowTable } from 'apache-arrow';
${MARKER}
async function mergeParquetFiles(inputPaths, outputPath) {
	// One batch file (tables up to 1M rows): copy it as written. Decoding it into apache-arrow JS
	// and re-encoding it breaks Boolean columns ("Need at least N bytes for bitmap").
	if (inputPaths.length === 1) {
		await fs.copyFile(inputPaths[0], outputPath);
		return;
	}
	const batches = [];
	for (const p of inputPaths) {
		const ipc = readParquetWasm(new Uint8Array(await fs.readFile(p))).intoIPCStream();
		batches.push(...tableFromIPCStream(ipc).batches);
	}
	const merged = new ArrowTable(batches);
	const props = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).build();
	await fs.writeFile(outputPath, writeParquet(Table.fromIPCStream(tableToIPC(merged, 'stream')), props));
}
`;

const BUILD_COPY_OLD = `	await initDB();

	const outputFilepath = path.join(outDir, outputFilename);

	const parquetFiles = tmpFilenames.map((filename) => \`'\${filename.replaceAll('\\\\', '/')}'\`);

	const select = \`SELECT * FROM read_parquet([\${parquetFiles.join(',')}])\`;
	const copy = \`COPY (\${select}) TO '\${outputFilepath}' (FORMAT 'PARQUET', CODEC 'ZSTD', USE_TMP_FILE false);\`;

	await fs.mkdir(path.dirname(outputFilepath), { recursive: true });
	await query(copy);
`;
const BUILD_COPY_NEW = `	const outputFilepath = path.join(outDir, outputFilename);

	${MARKER}
	// Offline: merge batches with parquet-wasm (no DuckDB-Wasm parquet extension download).
	await fs.mkdir(path.dirname(outputFilepath), { recursive: true });
	await mergeParquetFiles(tmpFilenames, outputFilepath);
`;

const BUILD_CLEANUP_OLD = `	for (const tmpFile of tmpFilenames) {
		await fs.rm(tmpFile, { force: true });
	}
	await emptyDbFs('*');
`;
const BUILD_CLEANUP_NEW = `	for (const tmpFile of tmpFilenames) {
		await fs.rm(tmpFile, { force: true });
	}
`;

// ---------------------------------------------------------------------------------------------
// Both clients: never try to download any other DuckDB extension either. A query that needs one
// then fails at once with a clear "not in the catalog" error instead of hanging offline.
// ---------------------------------------------------------------------------------------------
const NO_AUTOLOAD_OLD = `		await connection.query('SET old_implicit_casting = true;');\n`;
const NO_AUTOLOAD_NEW = `		await connection.query('SET old_implicit_casting = true;');
		${MARKER}
		await connection.query('SET autoinstall_known_extensions = false;');
		await connection.query('SET autoload_known_extensions = false;');
`;

const FILES = [
	{
		file: 'src/client-duckdb/node.js',
		edits: [
			[NODE_IMPORT_OLD, NODE_IMPORT_NEW],
			[NO_AUTOLOAD_OLD, NO_AUTOLOAD_NEW],
			[NODE_REGISTER_OLD, NODE_REGISTER_NEW]
		]
	},
	{
		file: 'src/client-duckdb/browser.js',
		edits: [
			[BROWSER_IMPORT_OLD, BROWSER_IMPORT_NEW],
			[NO_AUTOLOAD_OLD, NO_AUTOLOAD_NEW],
			[BROWSER_REGISTER_OLD, BROWSER_REGISTER_NEW]
		]
	},
	{
		file: 'src/build-parquet.js',
		edits: [
			[BUILD_IMPORT_OLD, BUILD_IMPORT_NEW],
			[BUILD_COPY_OLD, BUILD_COPY_NEW],
			[BUILD_CLEANUP_OLD, BUILD_CLEANUP_NEW]
		]
	}
];

function fail(message) {
	console.error(`\n[offline-patch] FAILED: ${message}`);
	console.error(
		'[offline-patch] The Evidence packages are not the exact versions this patch was written for.\n' +
			'[offline-patch] Re-install with `npm ci` (package-lock.json pins them), or update\n' +
			'[offline-patch] dashboards/scripts/patch-offline-parquet.mjs for the new versions.\n'
	);
	process.exit(1);
}

function installedVersion(pkg) {
	const file = path.join(ROOT, 'node_modules', pkg, 'package.json');
	if (!fs.existsSync(file)) fail(`${pkg} is not installed (${file} missing)`);
	return JSON.parse(fs.readFileSync(file, 'utf8')).version;
}

function checkVersions() {
	for (const [pkg, expected] of Object.entries(EXPECTED_VERSIONS)) {
		const actual = installedVersion(pkg);
		if (actual !== expected) fail(`${pkg} is ${actual}, expected ${expected}`);
	}
}

function countOccurrences(text, needle) {
	return text.split(needle).length - 1;
}

/** Returns the patched text; fails unless every `old` snippet occurs exactly once. */
function patchText(file, text) {
	let out = text;
	for (const [oldCode, newCode] of FILES.find((f) => f.file === file).edits) {
		const n = countOccurrences(out, oldCode);
		if (n !== 1) fail(`${file}: expected the original code once, found it ${n} times`);
		out = out.replace(oldCode, () => newCode);
	}
	if (/read_parquet|registerFileURL/.test(out.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ''))) {
		fail(`${file}: still calls read_parquet/registerFileURL after patching`);
	}
	return out;
}

function main() {
	const checkOnly = process.argv.includes('--check');
	checkVersions();
	// Compute every patched file before writing any, so a mismatch never leaves a half-patch.
	const pending = [];
	for (const { file } of FILES) {
		const abs = path.join(USQL, file);
		const text = fs.readFileSync(abs, 'utf8');
		if (text.includes(MARKER)) {
			console.log(`[offline-patch] ${file}: already patched`);
		} else if (OLD_MARKER.test(text)) {
			fail(`${file} carries an older version of this patch; run \`npm ci\` in dashboards/`);
		} else if (checkOnly) {
			fail(`${file} is not patched; run \`npm ci\` in dashboards/`);
		} else {
			pending.push([file, abs, patchText(file, text)]);
		}
	}
	for (const [file, abs, patched] of pending) {
		fs.writeFileSync(abs, patched);
		console.log(`[offline-patch] ${file}: patched`);
	}
	console.log('[offline-patch] OK: Parquet is loaded via parquet-wasm, no extension download.');
}

main();
