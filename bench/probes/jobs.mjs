// usage: node jobs.mjs <trace stdout log> <v8 log dir> [from] [to]  -> compile jobs in window grouped by file
import { readdirSync, readFileSync } from "node:fs"

const [traceFile, dir, from = "500", to = "5500"] = process.argv.slice(2)
const lines = readFileSync(traceFile, "utf8").split("\n")
let inWin = false
const jobs = [],
  deopts = []
for (const l of lines) {
  if (l === `MARK ${from}`) inWin = true
  else if (l === `MARK ${to}`) inWin = false
  if (!inWin) continue
  let m = l.match(/^\[completed compiling 0x[0-9a-f]+ <JSFunction (.*?) \(sfi = (0x[0-9a-f]+)\)> \(target (\w+)\)/)
  if (m) jobs.push({ name: m[1], sfi: BigInt(m[2]) - 1n, tier: m[3] })
  m = l.match(
    /^\[bailout \(kind: ([\w-]+), reason: (.*?)\): begin. deoptimizing 0x[0-9a-f]+ <JSFunction (.*?) \(sfi = (0x[0-9a-f]+)\)>/
  )
  if (m) deopts.push({ name: m[3], sfi: BigInt(m[4]) - 1n, kind: m[1], reason: m[2] })
}
// find the v8 log with most matches
let best,
  bestMap,
  bestN = -1
for (const f of readdirSync(dir)) {
  const map = new Map()
  for (const l of readFileSync(`${dir}/${f}`, "utf8").split("\n")) {
    if (!l.startsWith("code-creation,JS")) continue
    const parts = l.split(",")
    const sfi = parts[parts.length - 2],
      name = parts.slice(6, parts.length - 2).join(",")
    map.set(BigInt(sfi), name)
  }
  const n = jobs.filter((j) => map.has(j.sfi)).length
  if (n > bestN) {
    bestN = n
    best = f
    bestMap = map
  }
}
const where = (j) => {
  const full = bestMap.get(j.sfi) ?? `${j.name} ?`
  const sp = full.lastIndexOf(" ")
  let file = full.slice(sp + 1).replace(/:\d+:\d+$/, "")
  const pkg = file.startsWith("node:")
    ? "node"
    : (/node_modules\/.pnpm\/([^/]+)/.exec(file)?.[1]?.replace(/@\d.*$/, "") ??
      (file.includes("/packages/") ? "ours" : file.includes("/bench/") ? "bench" : "?"))
  if (pkg === "ours" || pkg === "bench") file = file.replace(/^.*?\/(packages|bench)\//, "$1/")
  else file = file.replace(/^.*\/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, "")
  return { full, file, pkg }
}
const by = new Map()
for (const j of jobs) {
  const w = where(j)
  const k = `${w.pkg}\t${w.file}`
  const e = by.get(k) ?? { n: 0, m: 0, t: 0, names: [] }
  e.n++
  if (j.tier === "MAGLEV") e.m++
  else e.t++
  e.names.push(`${j.name || "(anon)"}${j.tier === "MAGLEV" ? "" : "*"}`)
  by.set(k, e)
}
const pk = new Map()
for (const [k, e] of by) {
  const p = k.split("\t")[0]
  const x = pk.get(p) ?? { m: 0, t: 0 }
  x.m += e.m
  x.t += e.t
  pk.set(p, x)
}
console.log(
  `${traceFile} (v8 log ${best}, ${bestN}/${jobs.length} found): ${jobs.length} jobs (${jobs.filter((j) => j.tier === "MAGLEV").length} Maglev, ${jobs.filter((j) => j.tier !== "MAGLEV").length} Turbofan), ${deopts.length} deopts`
)
console.log("by package: " + [...pk].map(([p, x]) => `${p} ${x.m}M+${x.t}T`).join(", "))
if (process.env.FILES)
  for (const [k, e] of [...by].sort((a, b) => b[1].n - a[1].n))
    console.log(`  ${k.replace("\t", "  ")}  ${e.m}M+${e.t}T: ${e.names.join(" ")}`)
if (process.env.FILES)
  for (const d of deopts) console.log(`  deopt ${d.name} (${where(d).file}) ${d.kind}: ${d.reason}`)
