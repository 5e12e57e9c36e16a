/** A set of a session's roles, as a flag per role (a `Set` costs about 200 bytes even when it is small). */
export class RoleFlags {
  private readonly roles: ReadonlyArray<string>
  private readonly flags: Array<boolean>
  size = 0
  constructor(roles: ReadonlyArray<string>) {
    this.roles = roles
    this.flags = new Array(roles.length).fill(false)
  }
  has(role: string): boolean {
    return this.flags[this.roles.indexOf(role)] === true
  }
  add(role: string): void {
    const i = this.roles.indexOf(role)
    if (i < 0 || this.flags[i]) return
    this.flags[i] = true
    this.size++
  }
}
