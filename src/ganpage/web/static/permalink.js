// A sharded static site's p/view.html and 404.html (ganpage build-site --permalinks shards):
// the host answers a picture's permalink, p/<id>.html or p/<id>, with one of them; this reads
// the id from the address, finds the picture's record in its shard (picture.js) and shows it
// in place of the not-found text. Any other address, an unknown id, or a failure shows the
// not-found text; without JavaScript, the page's <noscript> picture shows.
"use strict";
(() => {
  const root = document.documentElement;
  const script = document.currentScript.src;
  const match = /\/p\/([0-9a-f]{12})(?:\.html)?$/.exec(location.pathname);
  const loaded = new Promise((resolve) => {
    if (document.readyState !== "loading") resolve();
    else document.addEventListener("DOMContentLoaded", resolve);
  });

  function showMissing() {
    const missing = document.getElementById("missing");
    missing.hidden = false;
    document.title = missing.dataset.title;
  }

  async function showPicture(id) {
    const picture = await import(new URL("picture.js", script).href);
    await loaded;
    const template = document.getElementById("picture-template");
    const record = await picture.findRecord(template, id);
    if (record === null) {
      showMissing();
      return;
    }
    document.getElementById("missing").replaceWith(picture.pictureArticle(template, id, record));
    document.title = picture.titleOf(record);
  }

  if (match === null) {
    loaded.then(showMissing);
    return;
  }
  root.classList.add("picking");
  showPicture(match[1])
    .catch((error) => {
      console.warn("permalink:", error);
      return loaded.then(showMissing);
    })
    .finally(() => root.classList.remove("picking"));
})();
