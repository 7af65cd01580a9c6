// The static site's home page (ganpage build-site): show a random picture on every load, as
// `ganpage serve` does at /. It picks a random category from pictures.json, then a random
// picture from that category's list of ids, and swaps that picture's own page's <article> in
// for the one built into index.html (on a site built with --permalinks shards, which has no
// such pages, picture.js makes that <article> from the picture's record in its JSON shard).
// Without JavaScript, or if anything fails, the built-in picture stays.
"use strict";
(() => {
  const root = document.documentElement;
  const script = document.currentScript.src;
  const pick = (list) => list[Math.floor(Math.random() * list.length)];
  const fetched = async (url) => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response;
  };
  const loaded = new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve));

  async function showRandomPicture() {
    const manifest = await (await fetched(new URL("pictures.json", document.baseURI))).json();
    const category = pick(manifest.categories);  // its ids: a list of their own, one fetch
    const id = pick(await (await fetched(new URL(category.pictures, document.baseURI))).json());
    if (manifest.sharded) {  // no page per picture: the record, from its shard
      await loaded;
      await showRecord(document.getElementById("picture-template"), id);
      return;
    }
    const pageUrl = new URL(manifest.page.replace("{id}", id), document.baseURI);
    const page = new DOMParser().parseFromString(await (await fetched(pageUrl)).text(), "text/html");
    const article = page.querySelector("article.picture");
    for (const element of article.querySelectorAll("[href], [src]")) {
      for (const name of ["href", "src"]) {  // the page's relative links, made absolute
        if (element.hasAttribute(name)) {
          element.setAttribute(name, new URL(element.getAttribute(name), pageUrl).href);
        }
      }
    }
    await loaded;
    document.querySelector("article.picture").replaceWith(document.adoptNode(article));
    document.title = page.title;
  }

  async function showRecord(template, id) {
    const picture = await import(new URL("picture.js", script).href);
    const record = await picture.findRecord(template, id);
    if (record === null) throw new Error(`${id}: not in its shard`);
    document.querySelector("article.picture").replaceWith(
      picture.pictureArticle(template, id, record));
    document.title = picture.titleOf(record);
  }

  root.classList.add("picking");
  const shown = () => root.classList.remove("picking");
  setTimeout(shown, 3000);  // a slow network: show the built-in picture meanwhile
  showRandomPicture().catch((error) => console.warn("random picture:", error)).finally(shown);
})();
