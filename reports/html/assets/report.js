/* loadlens report: draws the charts embedded in the page as JSON. */
(function () {
  'use strict'
  var el = document.getElementById('loadlens-charts')
  if (!el) return
  var specs = JSON.parse(el.textContent || '{}')
  function start () {
    window.LL.drawAll(specs)
    // charts in a panel opened later were drawn at their minimum width: fit them to it
    document.addEventListener('toggle', function () { window.dispatchEvent(new Event('resize')) }, true)
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
  else start()
})()
