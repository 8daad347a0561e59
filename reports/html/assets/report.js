/* loadlens report: draws the charts embedded in the page as JSON. */
(function () {
  'use strict'
  var el = document.getElementById('loadlens-charts')
  if (!el) return
  var specs = JSON.parse(el.textContent || '{}')
  function start () { window.LL.drawAll(specs) }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
  else start()
})()
