// LinguaLens in the browser: the student's text graph runs in onnxruntime-web (WASM), the
// tokenizer in tokenizers.js, and the gallery's image embeddings were computed at export time.
// Nothing leaves the page. `window.lingualens.search(text)` is what the box calls; tests and the
// benchmark call it too.
import * as ort from "./runtime/ort.wasm.min.mjs";
import { Tokenizer } from "./runtime/tokenizers.min.mjs";

ort.env.wasm.wasmPaths = new URL("./runtime/", import.meta.url).href;
ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a plain static server does not give

const status = document.getElementById("status");
const results = document.getElementById("results");
const box = document.getElementById("query");
window.addEventListener("unhandledrejection", (event) => {
  status.textContent = `could not start: ${event.reason?.message ?? event.reason}`;
  status.dataset.error = "1";
});

async function fetchBytes(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

// The large files (the model, its tokenizer, the gallery, the WASM runtime) are kept in the
// browser's Cache Storage under their content hash: a later visit reads them from disk, and a page
// re-exported with another model can never be served the old one. (Cache Storage exists on https
// and on localhost; elsewhere every visit downloads.)
async function cached(path, sha) {
  const url = `${path}?v=${sha.slice(0, 16)}`;
  if (!("caches" in self)) return fetchBytes(url);
  const cache = await caches.open("lingualens-web");
  const hit = await cache.match(url);
  if (hit) return hit.arrayBuffer();
  const bytes = await fetchBytes(url);
  await cache.put(url, new Response(bytes.slice(0)));
  return bytes;
}
const text = (bytes) => JSON.parse(new TextDecoder().decode(bytes));

const started = performance.now();
const config = await (await fetch("web.json", { cache: "no-store" })).json();
const sha = config.sha256;
const [tokenizerBytes, graph, galleryBytes, itemBytes, wasm] = await Promise.all([
  cached(config.files.tokenizer, sha.tokenizer), cached(config.files.text, sha.text),
  cached(config.files.embeddings, sha.embeddings), cached(config.files.gallery, sha.gallery),
  cached(config.files.wasm, sha.wasm)]);
ort.env.wasm.wasmBinary = wasm;
const [tokenizerJson, items] = [text(tokenizerBytes), text(itemBytes)];
const tokenizer = new Tokenizer(tokenizerJson, {});
const session = await ort.InferenceSession.create(graph, { executionProviders: ["wasm"] });
const gallery = new Float32Array(galleryBytes);
const dim = config.dim;
if (gallery.length !== items.length * dim) throw new Error("gallery embeddings do not match the gallery list");

// The Python runtime truncates with the tokenizer's template: the first max_length - 1 ids, then
// the closing special token. Queries are cut the same way here.
function tokenize(text) {
  let ids = tokenizer.encode(config.prefix + text).ids;
  if (ids.length > config.max_length) ids = ids.slice(0, config.max_length - 1).concat(ids.slice(-1));
  const real = ids.length;
  // a tower padded to a fixed context (open_clip's) gets its pads, masked out as Python masks them
  if (config.padding === "max_length") ids = ids.concat(new Array(config.max_length - ids.length).fill(config.pad_id));
  return { ids, real };
}

async function embed(text) {
  const { ids, real } = tokenize(text);
  const shape = [1, ids.length];
  const feeds = { input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), shape) };
  if (config.inputs.includes("attention_mask")) {
    feeds.attention_mask = new ort.Tensor("int64", BigInt64Array.from(ids, (_, i) => (i < real ? 1n : 0n)), shape);
  }
  const out = await session.run(feeds);
  return out[session.outputNames[0]].data;
}

// Highest score first; equal scores keep gallery order (as Python's stable argsort does).
function top(query, k) {
  const scores = new Float32Array(items.length);
  for (let i = 0; i < items.length; i++) {
    let s = 0;
    const row = i * dim;
    for (let j = 0; j < dim; j++) s += gallery[row + j] * query[j];
    scores[i] = s;
  }
  const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
  return order.slice(0, k).map((i) => ({ id: i, score: scores[i] }));
}

async function search(text, k = config.k) {
  const t0 = performance.now();
  const hits = top(await embed(text), k);
  return { hits, ids: hits.map((h) => h.id), ms: performance.now() - t0 };
}

function show(result, text) {
  results.replaceChildren(...result.hits.map(({ id, score }) => {
    const figure = document.createElement("figure");
    figure.dataset.id = String(id);
    const img = document.createElement("img");
    img.src = items[id].thumb;
    img.alt = items[id].caption;
    const caption = document.createElement("figcaption");
    caption.textContent = `${items[id].caption} · ${score.toFixed(3)}`;
    figure.append(img, caption);
    return figure;
  }));
  status.textContent = `“${text}”: ${result.ms.toFixed(1)} ms in your browser (WASM, ${config.variant})`;
  status.dataset.query = text;
}

let pending = Promise.resolve();
box.addEventListener("input", () => {
  const text = box.value.trim();
  if (!text) return;
  pending = pending.then(async () => {
    if (box.value.trim() !== text) return; // a newer keystroke will search
    show(await search(text), text);
  }).catch((err) => { status.textContent = `error: ${err.message}`; });
});

// readyAt: ms since navigation started (the page's own clock), what a visitor waits before typing
window.lingualens = { search, embed: async (text) => Array.from(await embed(text)), ready: true, loadMs: performance.now() - started, readyAt: performance.now(), config };
status.textContent = `${config.model} (${config.variant}) ready: ${items.length} images, loaded in ` +
  `${(window.lingualens.loadMs / 1000).toFixed(1)} s. Type in any language.`;
status.dataset.ready = "1";
box.disabled = false;
box.placeholder = "perro, 犬, собака, แมว, paka …";
box.focus();
