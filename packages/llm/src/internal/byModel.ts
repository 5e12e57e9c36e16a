/** Tables keyed by model name: prices, settings. */

/** The entry for a model: by exact name, else by the longest key the name starts with. */
export const byModel = <A>(table: Readonly<Record<string, A>>, model: string): A | undefined => {
  if (Object.hasOwn(table, model)) return table[model]
  let best: string | undefined
  for (const key of Object.keys(table)) {
    if (model.startsWith(key) && (best === undefined || key.length > best.length)) best = key
  }
  return best === undefined ? undefined : table[best]
}
