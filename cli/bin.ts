/** Process entry of the `loadlens` command. */
import { main } from './main.js'

main().then((code) => {
  process.exitCode = code
  // a run may leave keep-alive sockets or timers of the target's libraries behind
  setTimeout(() => process.exit(code), 200).unref()
}, (err) => {
  process.stderr.write(`loadlens: ${String(err)}\n`)
  process.exit(3)
})
