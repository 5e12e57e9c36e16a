/**
 * What other nodes may do on this one: which of its actors they may reach by path, and under which
 * receptionist keys and topics they may list their own actors here. Every node that joined (it knew
 * the shared secret, or had a certificate) is a peer; `RemoteAccess` says how far each is trusted.
 *
 * - `reach`: the actor paths a peer may send to, ask, look up and watch by path: exact paths, or
 *   subtrees written `"/user/agent/*"` (the actor and everything under it). A path outside is
 *   answered as if no actor were there (no probing). Always reachable besides: the actors this node
 *   revealed to that peer (the sender of a message it got, a ref inside a message) and the actors
 *   this node lists in its receptionist or topics.
 * - `register`: the receptionist keys a peer may list its actors under here, either as a list of
 *   key ids (any peer) or as a record of key id to the node ids allowed to.
 * - `subscribe`: the same, for topics.
 *
 * Each is `"all"` when left out. A listing is always of an actor on the node that sent it: no peer
 * can list an actor of another node.
 *
 * @example
 * ```ts
 * const system = yield* ActorSystem.make({
 *   transport: WebSocket.layer({ node: "shop", secret, listen: { port: 7000 } }),
 *   remoteAccess: {
 *     reach: ["/user/catalog/*", "/user/checkout"],
 *     register: { buyers: ["alice", "bob"] }, // only alice and bob may list buyers here
 *     subscribe: [] // no topic
 *   }
 * })
 * ```
 */

/** Which key ids or topic names peers may list their actors under, and which nodes may. */
export type Listings = "all" | ReadonlyArray<string> | Readonly<Record<string, ReadonlyArray<string>>>

/** What peers may do on this node (see the module's documentation). */
export interface RemoteAccess {
  readonly reach?: "all" | ReadonlyArray<string>
  readonly register?: Listings
  readonly subscribe?: Listings
  /**
   * How many actors one peer node may list in this node's receptionist, and as many in its topics: past that its
   * listings are refused (with a warning, at most one a second per peer) until some of its entries leave, so a peer
   * cannot grow this node's memory by listing actors it makes up. Raise it when one node lists more actors than
   * that. A whole number, 1 or more. Default {@link defaultMaxListingsPerNode}.
   *
   * @example
   * ```ts
   * ActorSystem.make({ transport, remoteAccess: { register: ["workers"], maxListingsPerNode: 50_000 } })
   * ```
   */
  readonly maxListingsPerNode?: number
  /**
   * How many actors all peer nodes together may list in this node's receptionist, and as many in its topics. The bound
   * is shared fairly, by the address a peer's link came from (its IP; an IPv6 /64) and then by node id within one
   * address: past it, a node whose address holds fewer listings than the address holding the most (or, within its
   * address, which holds fewer than its node holding the most) is let in at that one's expense (its oldest listing is
   * dropped, with a warning a second), and the rest are refused (a warning a second, naming who holds what); so a peer
   * that fills it, under however many node ids from one address, cannot starve an honest peer holding few. A peer may join under any number of node ids (up to the transport's `limits.maxPeers`), so the bound per node
   * alone would multiply by them. Raise it for a cluster whose nodes list more actors than that together. A whole number, 1
   * or more. Default {@link defaultMaxListings}.
   *
   * @example
   * ```ts
   * ActorSystem.make({ transport, remoteAccess: { maxListingsPerNode: 50_000, maxListings: 500_000 } })
   * ```
   */
  readonly maxListings?: number
  /**
   * How many sessions whose coordinators are on other nodes this node's participants may hold joined and not begun
   * (a `Join` answered, no `Begin` yet), all participants and coordinator nodes together; each coordinator node may
   * also hold at most 4,096 (or `maxJoiningSessions` if larger) at each participant. Durable sessions not begun count
   * too. A session counts for the node its Join came from (the link it arrived on). The bound of all is shared fairly
   * by that node's address and then by node id (as `maxListings` is): past it, a Join of a node whose address (or,
   * within its address, the node) holds fewer than the one holding the most is taken, and that one's oldest session not
   * begun is dropped (its starter gets `SessionJoinRefused` with `dropped`); any other Join, or one past the bound per
   * node, is refused: the session fails at once for its starter with `SessionJoinRefused`, naming this node, the bound and who
   * holds what. An honest
   * coordinator begins its session as soon as every role joined, so these stay few; sessions made up by a peer that
   * never begins them would otherwise be kept until that peer goes down. A whole number, 1 or more. Default
   * {@link defaultMaxJoinsNotBegun}.
   *
   * @example
   * ```ts
   * ActorSystem.make({ transport, remoteAccess: { maxJoinsNotBegun: 65_536 } }) // a participant node of many coordinators
   * ```
   */
  readonly maxJoinsNotBegun?: number
  /**
   * How many sessions whose coordinators are on other nodes this node's participants may hold at once, begun or not,
   * all participants and coordinator nodes together (a Join counts until its session ends; durable sessions too). A
   * peer that Joins participants to sessions it makes up and begins them, then never goes on, would otherwise hold
   * their roles (and their memory) for as long as it lives. Shared fairly as `maxJoinsNotBegun` is, by the address the
   * Joins came from and then by node id: past it, a Join of a node whose address holds fewer than the address holding
   * the most (or, within one address, of a node holding fewer than its node holding the most) is taken, and that one's
   * oldest session is dropped (aborted: its starter gets `SessionJoinRefused` with `scope: "held"` and `dropped`); any
   * other Join is refused with `SessionJoinRefused` (`scope: "held"`), naming this node, the bound and who holds what.
   * Raise it for a node that plays roles in more sessions of other nodes at once. A whole number, 1 or more. Default
   * {@link defaultMaxSessions}.
   *
   * @example
   * ```ts
   * ActorSystem.make({ transport, remoteAccess: { maxSessions: 200_000 } }) // a participant node of many long sessions
   * ```
   */
  readonly maxSessions?: number
}

/** The default of {@link RemoteAccess.maxListingsPerNode}: 10,000 listings per peer node (about 3 MB of entries). */
export const defaultMaxListingsPerNode = 10_000

/** The default of {@link RemoteAccess.maxListings}: 100,000 listings of all peer nodes (about 30 MB of entries). */
export const defaultMaxListings = 100_000

/**
 * The default of {@link RemoteAccess.maxJoinsNotBegun}: 16,384 sessions of other nodes joined and not begun (about
 * 20 MB of role sessions and watches).
 */
export const defaultMaxJoinsNotBegun = 16_384

/**
 * The default of {@link RemoteAccess.maxSessions}: 16,384 sessions of other nodes held at once, begun or not (about
 * 7.5 KB of heap each with a role's program waiting, so about 120 MB at the bound).
 */
export const defaultMaxSessions = 16_384

/** Everything open: the default of an actor system. */
export const all: RemoteAccess = { reach: "all", register: "all", subscribe: "all" }

/** Whether `path` is one of `patterns` (an exact path, or a subtree written `"/prefix/*"`). */
export const matches = (patterns: "all" | ReadonlyArray<string>, path: string): boolean => {
  if (patterns === "all") return true
  for (const pattern of patterns) {
    if (pattern.endsWith("/*")) {
      const root = pattern.slice(0, -2)
      if (path === root || path.startsWith(`${root}/`)) return true
    } else if (pattern === path) return true
  }
  return false
}

/**
 * Whether `listings` names `name` at all (`"all"` names every one): a name it does not name is one this node
 * does not carry, whoever lists under it.
 *
 * @example
 * ```ts
 * names(["sellers"], "sellers") // true
 * names({ sellers: ["shop"] }, "echoes") // false
 * ```
 */
export const names = (listings: Listings, name: string): boolean => {
  if (listings === "all") return true
  if (Array.isArray(listings)) return (listings as ReadonlyArray<string>).includes(name)
  return Object.hasOwn(listings, name)
}

/** Whether `node` may list an actor under `name` here. */
export const mayList = (listings: Listings, name: string, node: string): boolean => {
  if (listings === "all") return true
  if (Array.isArray(listings)) return (listings as ReadonlyArray<string>).includes(name)
  const nodes = (listings as Readonly<Record<string, ReadonlyArray<string>>>)[name]
  return Object.hasOwn(listings, name) && (nodes?.includes(node) ?? false)
}
