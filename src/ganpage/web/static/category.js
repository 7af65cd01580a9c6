// A sharded static site's category page (ganpage build-site --permalinks shards): its file
// holds the category's first page, and page N is the same file at c/<slug>.html#page=N (a
// fragment never reaches the host, so no host has to route it, and a redirect keeps it). This
// draws page N's grid and pager as category.html does, from the category's list (c/<slug>.json:
// per picture [id, format, width, height, seed], in the pages' order); the list's words go in
// as attributes, never as HTML. A page past the last shows the last. Without JavaScript, or if
// anything fails, the first page stays.
"use strict";
(() => {
  const script = document.currentScript.src;
  const loaded = new Promise((resolve) => {
    if (document.readyState !== "loading") resolve();
    else document.addEventListener("DOMContentLoaded", resolve);
  });
  const wanted = () => {
    const match = /^#page=([1-9][0-9]{0,8})$/.exec(location.hash);
    return match === null ? null : Number(match[1]);
  };
  let list = null;  // the category's list: fetched once, whatever the pages shown

  async function fetchList(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response.json();
  }

  function link(text, href) {
    const anchor = document.createElement("a");
    anchor.href = href;
    anchor.textContent = text;
    return anchor;
  }

  // Page `number` of the category (from 1), in place of the one shown.
  async function showPage(number) {
    const picture = await import(new URL("picture.js", script).href);
    await loaded;
    const template = document.getElementById("grid-template");
    const data = template.dataset;
    list ??= fetchList(new URL(data.list, picture.site));
    const grid = await list;
    const perPage = Number(data.perPage);
    const pages = Math.max(1, Math.ceil(grid.pictures.length / perPage));
    const page = Math.min(number, pages);
    const items = grid.pictures.slice((page - 1) * perPage, page * perPage).map(
      ([id, format, width, height, seed]) => {
        const item = template.content.querySelector("li").cloneNode(true);
        item.querySelector("a").href = picture.at(data.picture, "{id}", id);
        const image = item.querySelector("img");
        image.src = picture.at(data.image, "{path}", `${grid.slug}/${id}.${format}`);
        image.width = Number(width);
        image.height = Number(height);
        image.alt = seed === null ? String(grid.alt) : `${grid.alt}, seed ${seed}`;
        if (width <= 128) image.classList.add("pixelated");
        return item;
      });
    const pageUrl = (n) => n === 1 ? new URL(data.first, picture.site).href
      : picture.at(data.page, "{page}", String(n));
    document.querySelector("ul.grid").replaceChildren(...items);
    document.querySelector("p.pager").replaceChildren(
      page > 1 ? link("Previous", pageUrl(page - 1)) : "", "\n",
      page < pages ? link("Next", pageUrl(page + 1)) : "");
  }

  // Page 1's grid kept out of sight (and its lazy pictures unloaded) until page N is drawn:
  // hidden as the parser adds it, before the first paint (a style set by script: the page's
  // Content-Security-Policy refuses style attributes in the HTML only).
  function hideGrid() {
    const observer = new MutationObserver(() => {
      const grid = document.querySelector("ul.grid");
      if (grid === null) return;
      grid.style.display = "none";
      observer.disconnect();
    });
    observer.observe(document.documentElement, {childList: true, subtree: true});
    loaded.then(() => observer.disconnect());
  }

  function show(number) {
    showPage(number)
      .catch((error) => console.warn("category page:", error))
      .finally(() => document.querySelector("ul.grid")?.style.removeProperty("display"));
  }

  const first = wanted();
  if (first !== null && first > 1) {
    hideGrid();
    show(first);
  }
  window.addEventListener("hashchange", () => {  // Next, Previous, the browser's Back
    show(wanted() ?? 1);
    window.scrollTo(0, 0);
  });
})();
