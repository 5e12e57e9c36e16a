/**
 * The handshake's keys and proofs.
 *
 * `k` is an HMAC-SHA-256 under the shared secret of the X25519 agreement between the two
 * incarnations' keys and both introductions (node ids, incarnations, keys, nonces, timings). So the
 * secret never crosses the wire, a recorded handshake cannot be replayed (the other side's nonce is
 * fresh), and only the holder of an incarnation's private key can speak for it. The dialer's proof is
 * made over its link state, the acceptor's over what it received and the link both carry on with.
 */
import { createHmac, createPublicKey, diffieHellman, randomBytes, timingSafeEqual } from "node:crypto"
import type * as Frame from "../Frame.ts"
import type { Resolved } from "./options.ts"

/**
 * What the dialer's proof is made over: its link state.
 *
 * @example
 * mac(key, dialerLabel(true, 2)) // the proof of a dialer that holds link 2
 */
export const dialerLabel = (linked: boolean, generation: number): string =>
  `dialer${linked ? " linked" : ""}${generation > 0 ? ` ${generation}` : ""}`

/**
 * What the acceptor's proof is made over: what it received and the link both carry on with.
 *
 * @example
 * mac(key, acceptorLabel(received, generation))
 */
export const acceptorLabel = (received: number, generation: number): string => `acceptor ${received} link ${generation}`

/**
 * Bytes as they go on the wire (base64url).
 *
 * @example
 * b64(mac(key, dialerLabel(false, 0)))
 */
export const b64 = (bytes: Buffer): string => bytes.toString("base64url")
const fromB64 = (text: string): Buffer => Buffer.from(text, "base64url")

/**
 * A fresh nonce for an introduction.
 *
 * @example
 * const hello = { type: "hello", nonce: nonce(), ... }
 */
export const nonce = (): string => b64(randomBytes(32))

/** The fields that both sides bind into the key, in a fixed order. */
const introduction = (frame: Frame.Hello | Frame.Challenge) => [
  frame.protocol,
  frame.node,
  frame.incarnation,
  frame.key,
  frame.nonce,
  frame.maxFrameBytes,
  frame.window,
  frame.heartbeatInterval
]

/**
 * Whether a proof received (base64url) is the one expected, in constant time.
 *
 * @example
 * if (!sameBytes(proof.proof, mac(key, dialerLabel(linked, generation)))) refuse()
 */
export const sameBytes = (a: string, b: Buffer): boolean => {
  const bytes = fromB64(a)
  return bytes.length === b.length && timingSafeEqual(bytes, b)
}

/**
 * The key both proofs are made with: the secret over the X25519 agreement and both introductions;
 * `undefined` when the peer's key is not a valid X25519 public key.
 *
 * @example
 * const k = proofKey(options, hello, challenge, challenge.key)
 */
export const proofKey = (
  options: Pick<Resolved, "privateKey" | "secretKey">,
  hello: Frame.Hello,
  challenge: Frame.Challenge,
  peerKey: string
): Buffer | undefined => {
  let shared: Buffer
  try {
    const publicKey = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: peerKey }, format: "jwk" })
    shared = diffieHellman({ privateKey: options.privateKey, publicKey })
  } catch {
    return undefined
  }
  return createHmac("sha256", options.secretKey)
    .update("troupe handshake 2\0")
    .update(shared)
    .update(JSON.stringify([introduction(hello), introduction(challenge)]))
    .digest()
}

/**
 * A proof: the HMAC of a label under the handshake's key.
 *
 * @example
 * const proof = b64(mac(k, acceptorLabel(received, generation)))
 */
export const mac = (key: Buffer, label: string): Buffer => createHmac("sha256", key).update(label).digest()
