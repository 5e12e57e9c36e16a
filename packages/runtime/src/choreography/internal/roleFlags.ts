/**
 * A set of a session's roles, as a bit per role (a `Set` costs about 200 bytes even when it is small, an array of
 * flags about 64): the first 31 roles in a number, any others in a list made when one is added.
 *
 * @example
 * // const ended = new RoleFlags(["A", "B"]); ended.add("B"); ended.has("B") // true; ended.size // 1
 */
export class RoleFlags {
  private readonly roles: ReadonlyArray<string>
  private bits = 0
  private rest: Array<boolean> | undefined = undefined
  size = 0
  constructor(roles: ReadonlyArray<string>) {
    this.roles = roles
  }
  has(role: string): boolean {
    const i = this.roles.indexOf(role)
    return i < 0 ? false : i < 31 ? (this.bits & (1 << i)) !== 0 : this.rest?.[i - 31] === true
  }
  add(role: string): void {
    const i = this.roles.indexOf(role)
    if (i < 0 || this.has(role)) return
    if (i < 31) this.bits |= 1 << i
    else (this.rest ??= [])[i - 31] = true
    this.size++
  }
}
