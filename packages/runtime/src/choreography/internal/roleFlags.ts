/**
 * A set of a session's roles by their index: the bits of a number for up to 31 roles (a `Set` costs about 200 bytes
 * even when it is small, an object of flags about 100), a list of flags for more.
 *
 * @example
 * // let ended = RoleFlags.none; ended = RoleFlags.add(ended, 1); RoleFlags.has(ended, 1) // true; RoleFlags.size(ended) // 1
 */
export type RoleFlags = number | ReadonlyArray<boolean>

/** No role. */
export const none: RoleFlags = 0

/** Whether the role of index `i` is in `flags` (a negative index, for a role the session does not have, is not). */
export const has = (flags: RoleFlags, i: number): boolean =>
  i < 0 ? false : typeof flags === "number" ? i < 31 && (flags & (1 << i)) !== 0 : flags[i] === true

/** `flags` and the role of index `i` (a negative index is ignored). */
export const add = (flags: RoleFlags, i: number): RoleFlags => {
  if (i < 0 || has(flags, i)) return flags
  if (typeof flags === "number" && i < 31) return flags | (1 << i)
  const list = typeof flags === "number" ? Array.from({ length: 31 }, (_, j) => (flags & (1 << j)) !== 0) : [...flags]
  list[i] = true
  return list
}

/** How many roles `flags` holds. */
export const size = (flags: RoleFlags): number => {
  if (typeof flags !== "number") return flags.filter((f) => f).length
  let n = 0
  for (let bits = flags; bits !== 0; bits &= bits - 1) n++
  return n
}

/** `flags` without the role of index `i`. */
export const remove = (flags: RoleFlags, i: number): RoleFlags => {
  if (!has(flags, i)) return flags
  if (typeof flags === "number") return flags & ~(1 << i)
  const list = [...flags]
  list[i] = false
  return list
}
