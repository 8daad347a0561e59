/*
 * loadlens charts: draws the chart specifications of reports/charts.ts with uPlot.
 * Used by the HTML report (all charts at load) and the live web UI (charts updated every
 * second). Plain ES2017, no build step; it is inlined into the pages.
 */
(function () {
  'use strict'

  function trim (s) { return s.indexOf('.') >= 0 ? s.replace(/\.?0+$/, '') : s }
  function num (v, digits) {
    return Number(v).toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: digits })
  }
  function fmt (unit, v) {
    if (v === null || v === undefined || !isFinite(v)) return '–'
    var a = Math.abs(v)
    switch (unit) {
      case 'ms':
        if (a >= 10000) return trim((v / 1000).toFixed(1)) + ' s'
        return (a === 0 ? '0' : a < 10 ? trim(v.toFixed(2)) : a < 100 ? trim(v.toFixed(1)) : num(Math.round(v), 0)) + ' ms'
      // ages under a second keep two significant digits (0.004 s, not 0 s)
      case 's': return (a === 0 ? '0' : a < 1 ? trim(v.toPrecision(2)) : a < 10 ? trim(v.toFixed(2)) : num(v, 0)) + ' s'
      case 'bytes':
      case 'bytes_per_s': {
        var units = ['B', 'KB', 'MB', 'GB', 'TB']
        var i = 0
        while (a >= 1024 && i < units.length - 1) { a /= 1024; v /= 1024; i++ }
        return trim(v.toFixed(a < 10 ? 2 : a < 100 ? 1 : 0)) + ' ' + units[i] + (unit === 'bytes_per_s' ? '/s' : '')
      }
      case 'ratio': return trim((v * 100).toFixed(a * 100 < 10 ? 2 : 1)) + '%'
      case 'percent': return trim(v.toFixed(a < 10 ? 2 : 1)) + '%'
      case 'cores': return trim(v.toFixed(2))
      case 'per_s':
      case 'req_s': return a < 10 ? trim(v.toFixed(2)) : num(v, a < 100 ? 1 : 0)
      default: return a < 10 && !Number.isInteger(v) ? trim(v.toFixed(2)) : num(v, a < 100 ? 1 : 0)
    }
  }

  /** "+1:05" (or "+1:02:05") since the start of the run */
  function rel (d) {
    var sign = d < 0 ? '-' : '+'
    d = Math.round(Math.abs(d))
    var h = Math.floor(d / 3600)
    var m = Math.floor((d % 3600) / 60)
    var s = d % 60
    var mm = h ? String(m).padStart(2, '0') : String(m)
    return sign + (h ? h + ':' : '') + mm + ':' + String(s).padStart(2, '0')
  }
  function clock (t) {
    var d = new Date(t * 1000)
    return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0') + ':' + String(d.getSeconds()).padStart(2, '0')
  }

  function hasData (spec) {
    if (!spec || !spec.x || spec.x.length === 0) return false
    for (var i = 0; i < spec.series.length; i++) {
      var vs = spec.series[i].values
      for (var j = 0; j < vs.length; j++) if (vs[j] !== null && vs[j] !== undefined) return true
    }
    return false
  }

  function options (spec, width, height) {
    var t0 = spec.t0 !== undefined ? spec.t0 : spec.x[0]
    var scales = { x: { time: false } }
    var axes = [{
      stroke: '#475569',
      grid: { stroke: '#e2e8f0', width: 1 },
      ticks: { stroke: '#cbd5e1' },
      incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400],
      values: function (u, splits) { return splits.map(function (v) { return rel(v - t0) }) }
    }]
    var first = true
    Object.keys(spec.scales).forEach(function (key) {
      var sc = spec.scales[key]
      scales[key] = {
        auto: true,
        range: function (u, lo, hi) {
          var min = sc.min !== undefined && sc.min !== null ? Math.min(sc.min, lo === null ? sc.min : lo) : (lo === null ? 0 : lo)
          var max = sc.max !== undefined && sc.max !== null ? Math.max(sc.max, hi === null ? sc.max : hi) : (hi === null ? 1 : hi)
          if (sc.min === 0 && min > 0) min = 0
          if (max <= min) max = min + 1
          else if (sc.max === undefined || sc.max === null) max = max + (max - min) * 0.08
          return [min, max]
        }
      }
      axes.push({
        scale: key,
        side: sc.side === 'right' ? 1 : 3,
        label: sc.label,
        labelSize: 18,
        size: function (u, values) {
          var w = 0
          ;(values || []).forEach(function (v) { if (v && v.length > w) w = v.length })
          return Math.max(44, w * 7 + 22)
        },
        stroke: '#475569',
        grid: { show: first, stroke: '#e2e8f0', width: 1 },
        ticks: { stroke: '#cbd5e1' },
        values: function (u, splits) { return splits.map(function (v) { return fmt(sc.unit, v) }) }
      })
      first = false
    })
    var series = [{ label: 'time', value: function (u, v) { return v === null || v === undefined ? '–' : rel(v - t0) + ' (' + clock(v) + ')' } }]
    spec.series.forEach(function (s) {
      var unit = (spec.scales[s.scale] || {}).unit
      series.push({
        label: s.label,
        scale: s.scale,
        stroke: s.color || '#2563eb',
        width: s.width || 1.5,
        dash: s.dash ? [6, 4] : undefined,
        // a series sampled every few seconds: its points, joined across the seconds between them
        spanGaps: !!s.spanGaps,
        points: s.spanGaps ? { show: true, size: 5 } : { show: false },
        value: function (u, v) { return fmt(unit, v) }
      })
    })
    var bands = spec.bands || []
    return {
      width: width,
      height: height,
      scales: scales,
      axes: axes,
      series: series,
      legend: { live: true },
      // drag to zoom a range (double-click: back), one cursor shared by every chart of the page
      cursor: { drag: { x: true, y: false }, sync: { key: 'loadlens' } },
      hooks: {
        drawClear: [function (u) {
          if (!bands.length) return
          var ctx = u.ctx
          ctx.save()
          ctx.fillStyle = 'rgba(220, 38, 38, 0.12)'
          bands.forEach(function (b) {
            var x0 = Math.max(u.bbox.left, u.valToPos(b.from, 'x', true))
            var x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(b.to, 'x', true))
            if (x1 - x0 < 2) { x0 -= 1; x1 += 1 }
            if (x1 > x0) ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height)
          })
          ctx.restore()
        }]
      }
    }
  }

  function dataOf (spec) {
    var data = [spec.x]
    spec.series.forEach(function (s) { data.push(s.values) })
    return data
  }

  var charts = []

  /** Draws `spec` into element `el`; returns {update(spec)} for live charts. */
  function chart (el, spec, opts) {
    opts = opts || {}
    var height = opts.height || 220
    var plot = null
    var empty = null
    var keys = ''
    function draw (s) {
      var k = JSON.stringify([Object.keys(s.scales), s.series.map(function (x) { return [x.label, x.scale] }), s.bands || []])
      if (!hasData(s)) {
        if (plot) { plot.destroy(); plot = null }
        if (!empty) {
          empty = document.createElement('div')
          empty.className = 'chart-empty'
          empty.textContent = opts.emptyText || 'no data'
          el.appendChild(empty)
        }
        return
      }
      if (empty) { empty.remove(); empty = null }
      if (plot && k === keys) { plot.setData(dataOf(s)); return }
      if (plot) plot.destroy()
      keys = k
      plot = new uPlot(options(s, Math.max(280, el.clientWidth || 600), height), dataOf(s), el)
    }
    draw(spec)
    var handle = {
      el: el,
      update: draw,
      resize: function () { if (plot) plot.setSize({ width: Math.max(280, el.clientWidth || 600), height: height }) },
      /** removes the chart (a live finding card rebuilt) */
      destroy: function () {
        if (plot) { plot.destroy(); plot = null }
        var i = charts.indexOf(handle)
        if (i >= 0) charts.splice(i, 1)
      }
    }
    charts.push(handle)
    // follow the element's width (grids reflow as charts are added)
    if (typeof ResizeObserver !== 'undefined') {
      var lastW = el.clientWidth
      new ResizeObserver(function () {
        if (Math.abs(el.clientWidth - lastW) < 2) return
        lastW = el.clientWidth
        handle.resize()
      }).observe(el)
    }
    return handle
  }

  var resizeTimer = null
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer)
    resizeTimer = setTimeout(function () { charts.forEach(function (c) { c.resize() }) }, 100)
  })

  /** Draws every element with data-chart="id" from the specs {id: spec}. */
  function drawAll (specs, root) {
    var els = (root || document).querySelectorAll('[data-chart]')
    for (var i = 0; i < els.length; i++) {
      var spec = specs[els[i].getAttribute('data-chart')]
      if (spec) chart(els[i], spec)
    }
  }

  window.LL = { fmt: fmt, chart: chart, drawAll: drawAll, hasData: hasData }
})()
