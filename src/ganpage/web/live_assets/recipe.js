// The JavaScript twin of ganpage/recipe.py (and of the query checks in web/draw.py): the same
// permalink ?category=<slug>&seed=<n>&truncation=<t> is accepted or refused with the same
// values and messages, so the browser draws exactly the picture the server would.
// tests/test_live_page.py runs both on the same tricky inputs.

export const DEFAULT_TRUNCATION = 0.7;
export const MAX_SEED = 4294967295;
export const MAX_QUERY_LENGTH = 256;
export const QUERY_KEYS = ["category", "seed", "truncation"];
const SEED_TEXT = /^[0-9]{1,10}$/;
const TRUNCATION_TEXT = /^(0?\.[0-9]{1,17}|1(\.0{1,17})?|0)$/;

export class RecipeError extends Error {}

// Python's str[:n], which counts code points, not UTF-16 units
function head(text, count) {
  return Array.from(text).slice(0, count).join("");
}

// Python's repr() of a str, for the messages
export function pyRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0);
    if (char === "\\") out += "\\\\";
    else if (char === quote) out += "\\" + quote;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += char;
  }
  return quote + out + quote;
}

export function parseSeed(text) {
  if (!SEED_TEXT.test(text) || Number(text) > MAX_SEED) {
    throw new RecipeError(
      `seed must be a whole number from 0 to ${MAX_SEED}, got ${pyRepr(head(text, 40))}`);
  }
  return Number(text);
}

export function parseTruncation(text) {
  const value = TRUNCATION_TEXT.test(text) ? Number(text) : 0;
  if (!(value > 0 && value <= 1)) {
    throw new RecipeError(
      `truncation must be a decimal in (0, 1] such as 0.7, got ${pyRepr(head(text, 40))}`);
  }
  return value;
}

// classesBySlug: Map slug -> class; category/seed/truncation: strings or null
export function parseRecipe(classesBySlug, category, seed, truncation = null) {
  if (!category || !seed) {
    throw new RecipeError("a picture's address needs ?category=<slug>&seed=<n>");
  }
  const found = classesBySlug.get(category);
  if (found === undefined) {
    throw new RecipeError(`no category with the slug ${pyRepr(head(category, 80))}`);
  }
  const chosen = truncation === null || truncation === "" ? DEFAULT_TRUNCATION
    : parseTruncation(truncation);
  return { category: found, seed: parseSeed(seed), truncation: chosen };
}

// The recipe of a query string ("?category=..."), checked as web/draw.py checks it
export function recipeFromQuery(classesBySlug, query) {
  const text = query.startsWith("?") ? query.slice(1) : query;
  if (text.length > MAX_QUERY_LENGTH) throw new RecipeError("query string too long");
  const params = new URLSearchParams(text);
  for (const key of QUERY_KEYS) {
    if (params.getAll(key).length > 1) throw new RecipeError(`give ${key} once`);
  }
  return parseRecipe(classesBySlug, params.get("category"), params.get("seed"),
                     params.get("truncation"));
}

// gallery.truncation_text: 4 decimals when they give the value back exactly, else every digit
export function truncationText(truncation) {
  const fixed = truncation.toFixed(4);
  return Number(fixed) === truncation ? fixed : String(truncation);
}

// Recipe.query(): the canonical spelling of a recipe
export function recipeQuery(recipe) {
  const params = new URLSearchParams({ category: recipe.category.slug, seed: String(recipe.seed),
                                       truncation: truncationText(recipe.truncation) });
  return params.toString();
}

// recipe.redirect_query: the canonical query a query ("?..." or without the "?") that names
// the recipe moves to, or null when it is that spelling already (the server answers 301)
export function redirectQuery(query, recipe) {
  const text = query.startsWith("?") ? query.slice(1) : query;
  const canonical = recipeQuery(recipe);
  return text === canonical ? null : canonical;
}
