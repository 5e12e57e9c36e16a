/**
 * V8's optimising compiles and deoptimisations in the bench's window (asks 500–5,500), per process of
 * bench/probes/ask-trace.ts, grouped by package and file, from V8's own log (not `--trace-opt`'s stdout, which V8
 * buffers, so its lines land after the asks that followed them). Run the trace with marks and a code log, then this:
 *
 *   rm -rf /tmp/v8 && mkdir /tmp/v8
 *   ROUNDS=1 MARK=500 FLAGS="--log-code --log-deopt --logfile=/tmp/v8/v8.log" pnpm exec node bench/probes/ask-trace.ts
 *   pnpm exec node bench/probes/compile-jobs.ts /tmp/v8        # FILES=1: each file's functions and each deopt
 *
 * A compile job is a `code-creation` line of Maglev (`+`) or Turbofan (`*`) code between the `MARK_500` and
 * `MARK_5500` functions' lines (ask-trace-child.ts compiles them at those asks; `FROM`/`TO` pick other marks).
 */
import { readdirSync, readFileSync } from "node:fs"

const dir = process.argv[2] ?? "/tmp/v8"
const from = `MARK_${process.env.FROM ?? 500} `
const to = `MARK_${process.env.TO ?? 5500} `

/** A code log line's name, `fn file:line:col`, as package, file (ours from `packages/`) and function. */
const place = (name: string) => {
  const space = name.lastIndexOf(" ")
  const fn = name.slice(0, Math.max(space, 0)) || "(anonymous)"
  const file = name.slice(space + 1).replace(/:\d+:\d+$/, "")
  const ours = /\/((?:packages|bench)\/.*)$/.exec(file)
  if (file.startsWith("node:")) return { pkg: "node", file, fn }
  if (ours !== null && !file.includes("node_modules")) return { pkg: "ours", file: ours[1]!, fn }
  const dep = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(file)
  return dep === null ? { pkg: "?", file, fn } : { pkg: dep[1]!, file: `${dep[1]}/${dep[2]}`, fn }
}

for (const log of readdirSync(dir).sort()) {
  const lines = readFileSync(`${dir}/${log}`, "utf8").split("\n")
  const role = lines.find((l) => l.includes(",ROLE_"))?.match(/ROLE_(\w+)/)?.[1] ?? log
  const names = new Map<string, string>()
  const files = new Map<string, { maglev: number; turbofan: number; fns: Array<string> }>()
  const deopts: Array<string> = []
  let inWindow = false
  let maglev = 0
  let turbofan = 0
  for (const line of lines) {
    if (!line.startsWith("code-")) continue
    const fields = line.split(",")
    if (fields[0] === "code-creation" && fields[1] === "JS") {
      const name = fields.slice(6, -2).join(",")
      const tier = fields.at(-1)!
      names.set(fields[4]!, name)
      if (name.startsWith(from)) inWindow = true
      else if (name.startsWith(to)) inWindow = false
      if (!inWindow || !(tier.startsWith("+") || tier.startsWith("*"))) continue
      const p = place(name)
      const key = `${p.pkg.padEnd(16)} ${p.file}`
      const entry = files.get(key) ?? { maglev: 0, turbofan: 0, fns: [] }
      if (tier.startsWith("+")) {
        entry.maglev++
        maglev++
      } else {
        entry.turbofan++
        turbofan++
      }
      entry.fns.push(tier.startsWith("+") ? p.fn : `${p.fn}*`)
      files.set(key, entry)
    } else if (fields[0] === "code-deopt" && inWindow) {
      // code-deopt,time,size,code,inlining id,script offset,bailout type,position,reason
      const p = place(names.get(fields[3]!) ?? "?")
      deopts.push(`${p.fn} (${p.file}) ${fields[6]}: ${fields.slice(8).join(",")}`)
    }
  }
  const packages = new Map<string, [number, number]>()
  for (const [key, e] of files) {
    const pkg = key.split(" ")[0]!
    const sum = packages.get(pkg) ?? [0, 0]
    packages.set(pkg, [sum[0] + e.maglev, sum[1] + e.turbofan])
  }
  const byPackage = [...packages].map(([p, [m, t]]) => `${p} ${m}+${t}`).join(", ")
  console.log(
    `${role}: ${maglev + turbofan} jobs (Maglev ${maglev}, Turbofan ${turbofan}), ${deopts.length} deopts; ${byPackage}`
  )
  if (process.env.FILES === undefined) continue
  for (const [key, e] of [...files].sort((a, b) => b[1].fns.length - a[1].fns.length))
    console.log(`  ${key} ${e.maglev}+${e.turbofan}: ${e.fns.join(" ")}`)
  for (const d of deopts) console.log(`  deopt ${d}`)
}
