// A sharded static site's pictures (ganpage build-site --permalinks shards): find a picture's
// record in its JSON shard, and make picture.html's <article> of it from the page's
// <template id="picture-template">. The record's words come from a gallery: they go in as
// text (textContent, attributes), never as HTML. Used by permalink.js, random.js and
// category.js.

// site_permalinks.py: SHARDS shards, picked by the first 3 hex digits of the id
const SHARDS = 2048;
const PREFIXES = 4096;
const ID = /^[0-9a-f]{12}$/;

// This file is <site>/static/picture.js: the site's root, whatever page loaded it.
export const site = new URL("../", import.meta.url);

// The absolute URL of `pattern` (a path from the site's root, or a URL) with `name` filled in.
export const at = (pattern, name, value) => new URL(pattern.replace(name, () => value), site).href;

export function shardOf(id) {
  const shard = Math.floor(parseInt(id.slice(0, 3), 16) * SHARDS / PREFIXES);
  return String(shard).padStart(4, "0");
}

// The record of picture `id`, or null if the site shows no such picture.
export async function findRecord(template, id) {
  if (!ID.test(id)) return null;
  const url = at(template.dataset.shards, "{shard}", shardOf(id));
  const response = await fetch(url);
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  const records = await response.json();
  return Object.prototype.hasOwnProperty.call(records, id) ? records[id] : null;
}

export const titleOf = (record) => `${record.this} ${record.name} ${record.does} Not Exist`;

// picture.html's <article> showing `record`, its links absolute.
export function pictureArticle(template, id, record) {
  const article = template.content.querySelector("article").cloneNode(true);
  for (const element of article.querySelectorAll("[data-field]")) {
    element.textContent = String(record[element.dataset.field] ?? "");
  }
  const image = article.querySelector("img");
  image.src = at(template.dataset.image, "{path}", record.path);
  image.width = Number(record.width);
  image.height = Number(record.height);
  image.alt = String(record.alt);
  if (record.width <= 128) image.classList.add("pixelated");
  const links = {home: site.href, category: at(template.dataset.category, "{slug}", record.slug),
                 permalink: at(template.dataset.picture, "{id}", id)};
  for (const link of article.querySelectorAll("[data-link]")) {
    link.href = links[link.dataset.link];
  }
  return article;
}
