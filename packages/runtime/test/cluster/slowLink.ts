/**
 * A slow link to a server, for tests: a TCP proxy that holds every chunk, both ways, for a fixed time before it
 * forwards it (in order). A process whose event loop turns slowly under load reads its database's answers late in
 * the same way: each statement's round trip costs twice the delay.
 */
import * as Net from "node:net"

export interface SlowLink {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number
  /** Closes the proxy and every connection through it. */
  readonly close: () => Promise<void>
}

/**
 * Starts a proxy to `127.0.0.1:targetPort` that delays each chunk by `delayMillis` each way.
 *
 * @example
 * const link = await slowLink(server.port, 150)
 * const url = server.url.replace(`:${server.port}/`, `:${link.port}/`)
 */
export const slowLink = (targetPort: number, delayMillis: number): Promise<SlowLink> =>
  new Promise((resolve) => {
    const sockets = new Set<Net.Socket>()
    // timers of one duration fire in the order they were set, so chunks keep their order
    const forward = (from: Net.Socket, to: Net.Socket) =>
      from.on("data", (chunk) => {
        setTimeout(() => {
          if (!to.destroyed) to.write(chunk)
        }, delayMillis)
      })
    const server = Net.createServer((client) => {
      const upstream = Net.connect(targetPort, "127.0.0.1")
      sockets.add(client).add(upstream)
      const destroy = () => {
        // an end is forwarded after the chunks before it
        setTimeout(() => {
          client.destroy()
          upstream.destroy()
          sockets.delete(client)
          sockets.delete(upstream)
        }, delayMillis)
      }
      client.on("error", destroy).on("close", destroy)
      upstream.on("error", destroy).on("close", destroy)
      forward(client, upstream)
      forward(upstream, client)
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as Net.AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    )
  })
