/**
 * The handshake: what a connection says before it carries a link. The dialer sends `hello`, the
 * acceptor checks it (protocol, token, not itself, not quarantined) and answers `welcome`, or
 * refuses with a close code. Once a side is satisfied it hands the connection to the engine, which
 * binds it to the link of that node and incarnation.
 */

import { timingSafeEqual } from "node:crypto"
import * as CloseCode from "../CloseCode.ts"
import * as Frame from "../Frame.ts"
import type { Connection, Engine } from "./engine.ts"
import { hashToken } from "./options.ts"

export class Handshake {
  private readonly engine: Engine
  private readonly hello: Buffer
  /** What this node tells peers about itself in `hello` and `welcome`. */
  private readonly self: Omit<Frame.Hello, "type" | "token">

  constructor(engine: Engine) {
    this.engine = engine
    const options = engine.options
    this.self = {
      protocol: Frame.PROTOCOL_VERSION,
      node: options.node,
      incarnation: options.incarnation,
      maxFrameBytes: options.maxFrameBytes,
      window: options.capacity,
      heartbeatInterval: Math.max(1, Math.ceil(options.heartbeatMs))
    }
    const hello: Frame.Hello = { ...this.self, type: "hello" }
    this.hello = Frame.encode(options.token === undefined ? hello : { ...hello, token: options.token })
  }

  /** An outbound wire opened: the dialer speaks first. */
  start(connection: Connection): void {
    connection.write(this.hello)
  }

  /** A frame on a connection that has not completed its handshake. */
  onFrame(connection: Connection, frame: Frame.Frame): void {
    if (!connection.outbound && frame.type === "hello") this.onHello(connection, frame)
    else if (connection.outbound && frame.type === "welcome") this.onWelcome(connection, frame)
    else
      this.engine.badFrame(
        connection,
        "unexpected-frame",
        "type",
        `expected a ${connection.outbound ? "welcome" : "hello"} frame, got ${frame.type}`
      )
  }

  private tokenMatches(token: string | undefined): boolean {
    const expected = this.engine.options.secretHash
    if (expected === undefined) return true
    return timingSafeEqual(hashToken(token ?? ""), expected) && token !== undefined
  }

  private refuse(connection: Connection, code: number, reason: string, peer: string): void {
    this.engine.counters.refused++
    this.engine.log("Warn", "connection refused", { peer, code: CloseCode.name(code), reason })
    connection.close(code, reason)
  }

  /**
   * The checks both ends of a handshake make (protocol, token, not itself, not quarantined): binds
   * the connection to its link, or refuses it with the documented close code.
   */
  private admit(connection: Connection, frame: Frame.Hello | Frame.Welcome) {
    const engine = this.engine
    const peer = `${frame.node}/${frame.incarnation}`
    const refusal: readonly [number, string] | undefined =
      frame.protocol !== Frame.PROTOCOL_VERSION
        ? [CloseCode.VersionMismatch, `protocol ${frame.protocol} is not ${Frame.PROTOCOL_VERSION}`]
        : frame.type === "hello" && !this.tokenMatches(frame.token)
          ? [CloseCode.Unauthorized, frame.token === undefined ? "missing token" : "wrong token"]
          : frame.node === engine.options.node
            ? [CloseCode.SelfConnection, `node id ${frame.node} is this node's own`]
            : engine.quarantined.has(peer)
              ? [CloseCode.Quarantined, "this incarnation was declared down; restart to rejoin"]
              : undefined
    if (refusal !== undefined) {
      this.refuse(connection, refusal[0], refusal[1], peer)
      return undefined
    }
    if (engine.stopping) {
      connection.close(CloseCode.GoingAway, "node shutting down")
      return undefined
    }
    const link = engine.bind(frame.node, frame.incarnation, frame)
    connection.link = link
    connection.peer = link.peer
    connection.peerHeartbeatMs = frame.heartbeatInterval
    connection.state = "open"
    return link
  }

  private onHello(connection: Connection, hello: Frame.Hello): void {
    const link = this.admit(connection, hello)
    if (link === undefined) return
    connection.write(Frame.encode({ ...this.self, type: "welcome", received: link.consumed }))
    this.engine.attach(link, connection)
  }

  private onWelcome(connection: Connection, welcome: Frame.Welcome): void {
    const link = this.admit(connection, welcome)
    if (link === undefined) return
    connection.established = true
    if (!link.onAck(welcome.received)) {
      this.engine.protocolError(connection, `welcome acknowledges ${welcome.received}, never sent`)
      return
    }
    this.engine.attach(link, connection)
    if (connection.target !== undefined) this.engine.targets.get(connection.target)?.reached(link.peer)
  }
}
