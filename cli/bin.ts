/** Process entry of the `loadlens` command. */
import { main } from './main.js'

// output piped into a reader that stopped (`loadlens --help | head`): what is left to print is
// dropped, quietly; a run goes on and writes its files
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') throw err })
}

main().then((code) => {
  process.exitCode = code
  // a run may leave keep-alive sockets or timers of the target's libraries behind
  setTimeout(() => process.exit(code), 200).unref()
}, (err) => {
  process.stderr.write(`loadlens: ${String(err)}\n`)
  process.exit(3)
})
