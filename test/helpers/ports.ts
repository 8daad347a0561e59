/** A free TCP port on loopback (for servers that must be started on a known port). */
export { freePort } from '../../shared/ports.js'
