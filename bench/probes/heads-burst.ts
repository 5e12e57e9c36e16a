/**
 * The frame decoder's CPU per envelope when nearly every envelope's head is new (a burst of sessions: each reply goes
 * to its own `session-<id>` coordinator), against `JSON.parse` of the same frames. Run:
 * `npx -y pnpm@10.34.9 exec node bench/probes/heads-burst.ts` (ROUNDS=5 ENVELOPES=20000 PER_FRAME=40
 * PER_HEAD=2).
 */
import { Frame } from "@troupe/transport"
import { FrameDecoder } from "../../packages/transport/src/internal/frameDecoder.ts"

const rounds = Number(process.env.ROUNDS ?? 5)
const total = Number(process.env.ENVELOPES ?? 20_000)
const perFrame = Number(process.env.PER_FRAME ?? 40)
/** Envelopes per head (per session coordinator): 2, one from each role. */
const perHead = Number(process.env.PER_HEAD ?? 2)

const envelope = (i: number, role: string): string =>
  JSON.stringify({
    kind: "tell",
    to: { node: "starter", path: `/user/session-burst-${i}` },
    payload: { _tag: "Done", role, session: `burst-${i}`, at: 1234567 + i },
    from: { node: "parts", path: `/user/${role}` }
  })

const frames = (round: number): Array<Buffer> => {
  const out: Array<Buffer> = []
  let seq = 1
  for (let f = 0; f < total / perFrame; f++) {
    const texts: Array<string> = []
    for (let k = 0; k < perFrame; k++) {
      const i = round * total + f * perFrame + k
      texts.push(envelope(Math.floor(i / perHead), i % perHead === 1 ? "S" : "C"))
    }
    out.push(Frame.encodeData(0, seq, texts))
    seq += perFrame
  }
  return out
}

const cpu = (): number => {
  const u = process.threadCpuUsage()
  return u.user + u.system
}

const decoder = new FrameDecoder()
for (let round = 0; round < rounds; round++) {
  const fs = frames(round)
  const t0 = cpu()
  for (const f of fs) decoder.decode(f, true)
  const t1 = cpu()
  for (const f of fs) JSON.parse(f.toString("utf8"))
  const t2 = cpu()
  console.log(
    `round ${round}: decoder ${((t1 - t0) / total).toFixed(2)} us/envelope, JSON.parse ${((t2 - t1) / total).toFixed(2)} us/envelope, kept ${decoder.kept}`
  )
}
