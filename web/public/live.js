/*
 * loadlens live page: polls /api/live every second, keeps the per-second points, and redraws
 * the numbers, tables and charts. Every value from the run is set as text (never as HTML).
 */
(function () {
  'use strict'
  var LL = window.LL
  var token = new URLSearchParams(location.search).get('token')
  var $ = function (id) { return document.getElementById(id) }
  var UNIT_LABEL = { count: 'count', ratio: 'ratio', percent: '%', bytes: 'bytes', ms: 'ms', s: 's', per_s: 'per s', bytes_per_s: 'bytes/s', cores: 'cores' }

  function api (path, body) {
    var headers = { 'content-type': 'application/json' }
    if (token) headers['x-loadlens-token'] = token
    return fetch(path, { method: 'POST', headers: headers, body: JSON.stringify(body || {}), credentials: 'same-origin' })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status)); return j }) })
  }
  function showError (e) {
    var m = $('msg')
    if (!e) { m.hidden = true; m.textContent = ''; return }
    m.textContent = String(e.message || e)
    m.hidden = false
  }
  function formData (form) {
    var out = {}
    Array.prototype.forEach.call(form.elements, function (el) { if (el.name) out[el.name] = el.value })
    return out
  }

  // -- controls
  var startForm = $('start')
  if (startForm) {
    startForm.addEventListener('submit', function (ev) {
      ev.preventDefault()
      showError(null)
      var body = formData(startForm)
      Object.keys(body).forEach(function (k) { if (body[k] === '') delete body[k] })
      $('start-btn').disabled = true
      api('/api/start', body).then(function () { reset(); poll() }, function (e) { showError(e); $('start-btn').disabled = false })
    })
  }
  $('steer').addEventListener('submit', function (ev) {
    ev.preventDefault()
    showError(null)
    api('/api/users', formData($('steer'))).catch(showError)
  })
  $('stop-btn').addEventListener('click', function () {
    showError(null)
    $('stop-btn').disabled = true
    api('/api/stop').catch(showError)
  })

  // -- state kept between polls
  var runId = null
  var points = {}   // t -> point
  var probes = {}   // series id -> {meta, values: {t: v}}
  var lastT = 0
  var charts = {}
  var probeCharts = {}
  var emptyProbes = ($('probes').textContent || '').trim()

  function reset () {
    points = {}; probes = {}; lastT = 0
    Object.keys(probeCharts).forEach(function (k) { probeCharts[k].box.remove() })
    probeCharts = {}
    $('probes').innerHTML = ''
    var p = document.createElement('p')
    p.className = 'empty'
    p.textContent = emptyProbes
    $('probes').appendChild(p)
    $('done').hidden = true
  }

  function grid () {
    var ts = Object.keys(points).map(Number)
    Object.keys(probes).forEach(function (id) { Object.keys(probes[id].values).forEach(function (t) { ts.push(Number(t)) }) })
    if (!ts.length) return []
    var lo = Math.min.apply(null, ts)
    var hi = Math.max.apply(null, ts)
    var out = []
    for (var t = lo; t <= hi; t++) out.push(t)
    return out
  }
  function column (x, pick) { return x.map(function (t) { var p = points[t]; return p ? pick(p) : null }) }

  function text (el, v) { el.textContent = v }
  function cell (tr, v, cls) { var td = document.createElement('td'); td.textContent = v; if (cls) td.className = cls; tr.appendChild(td); return td }
  function fmtMs (v) { return LL.fmt('ms', v).replace(/ ms$/, '') }

  function drawCharts (x, t0) {
    var specs = {
      'c-users': { id: 'c-users', title: '', x: x, t0: t0, scales: { users: { unit: 'users', label: 'users', side: 'left', min: 0 }, rps: { unit: 'req_s', label: 'req/s', side: 'right', min: 0 } },
        series: [{ label: 'users', scale: 'users', color: '#64748b', values: column(x, function (p) { return p.users }) }, { label: 'req/s', scale: 'rps', color: '#2563eb', values: column(x, function (p) { return p.rps }) }] },
      'c-fails': { id: 'c-fails', title: '', x: x, t0: t0, scales: { fps: { unit: 'per_s', label: 'per s', side: 'left', min: 0 } },
        series: [{ label: 'failures/s', scale: 'fps', color: '#dc2626', values: column(x, function (p) { return p.fps }) }] },
      'c-lat': { id: 'c-lat', title: '', x: x, t0: t0, scales: { ms: { unit: 'ms', label: 'ms', side: 'left', min: 0 } },
        series: [{ label: 'p50', scale: 'ms', color: '#16a34a', values: column(x, function (p) { return p.p50 }) }, { label: 'p95', scale: 'ms', color: '#d97706', values: column(x, function (p) { return p.p95 }) }, { label: 'p99', scale: 'ms', color: '#dc2626', values: column(x, function (p) { return p.p99 }) }] }
    }
    Object.keys(specs).forEach(function (id) {
      if (!charts[id]) charts[id] = LL.chart($(id), specs[id], { emptyText: 'waiting for the first second of load' })
      else charts[id].update(specs[id])
    })
    // probes: one chart per probe metric
    var groups = {}
    Object.keys(probes).sort().forEach(function (id) {
      var p = probes[id]
      var g = p.meta.probe + '.' + p.meta.metric
      ;(groups[g] = groups[g] || []).push(p)
    })
    // most relevant first: the series behind a finding now, then by system (the database, the
    // cache, the workers, the target, the host), then the rest
    var behind = {}
    ;(lastFindings || []).forEach(function (f) { ((f.evidence && f.evidence.series) || []).forEach(function (id) { var p = probes[id]; if (p) behind[p.meta.probe + '.' + p.meta.metric] = true }) })
    var SYSTEMS = ['pg', 'redis', 'celery', 'target', 'host', 'logs', 'metrics', 'generator']
    var rank = function (g) { var sys = SYSTEMS.indexOf(g.split('.')[0]); return (behind[g] ? 0 : 100) + (sys < 0 ? SYSTEMS.length : sys) }
    var keys = Object.keys(groups).sort(function (a, b) { return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0) })
    if (keys.length && $('probes').querySelector('.empty')) $('probes').innerHTML = ''
    var palette = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d']
    keys.forEach(function (g) {
      var list = groups[g]
      var unit = list[0].meta.unit
      var spec = {
        id: g, title: list[0].meta.title || g, x: x, t0: t0,
        scales: { v: { unit: unit, label: UNIT_LABEL[unit] || unit, side: 'left', min: 0, max: unit === 'ratio' ? 1 : undefined } },
        series: list.map(function (p, i) {
          var labels = p.meta.labels || {}
          var ks = Object.keys(labels)
          return { label: p.meta.label || (ks.length ? ks.map(function (k) { return labels[k] }).join(', ') : p.meta.metric), scale: 'v', color: palette[i % palette.length], values: x.map(function (t) { var v = p.values[t]; return v === undefined ? null : v }) }
        })
      }
      if (!probeCharts[g]) {
        var box = document.createElement('div')
        box.className = 'chartbox'
        var title = document.createElement('div')
        title.className = 'title'
        title.textContent = list[0].meta.title || g
        var el = document.createElement('div')
        el.className = 'chart'
        box.appendChild(title); box.appendChild(el)
        var holder = $('probes').querySelector('.grid2')
        if (!holder) { holder = document.createElement('div'); holder.className = 'grid2'; $('probes').appendChild(holder) }
        holder.appendChild(box)
        probeCharts[g] = { box: box, chart: LL.chart(el, spec) }
      } else probeCharts[g].chart.update(spec)
      if (behind[g]) probeCharts[g].box.classList.add('behind'); else probeCharts[g].box.classList.remove('behind')
    })
    // in that order (moving a box keeps its chart)
    var holder2 = $('probes').querySelector('.grid2')
    if (holder2) keys.forEach(function (g) { if (probeCharts[g] && holder2.lastChild !== probeCharts[g].box) holder2.appendChild(probeCharts[g].box) })
  }

  function drawTables (s) {
    var tb = $('stats').querySelector('tbody')
    tb.innerHTML = ''
    s.rows.forEach(function (r) {
      var tr = document.createElement('tr')
      if (r.failures) tr.className = 'fail'
      cell(tr, r.type); cell(tr, r.name, 'name'); cell(tr, LL.fmt('count', r.requests), 'n')
      cell(tr, LL.fmt('count', r.failures) + ' (' + (r.requests ? (100 * r.failures / r.requests).toFixed(1) : '0.0') + '%)', 'n')
      cell(tr, LL.fmt('req_s', r.rps), 'n'); cell(tr, fmtMs(r.p50), 'n'); cell(tr, fmtMs(r.p95), 'n'); cell(tr, fmtMs(r.p99), 'n'); cell(tr, fmtMs(r.maxMs), 'n')
      cell(tr, LL.fmt('bytes', r.avgBytes), 'n')
      tb.appendChild(tr)
    })
    var eb = $('errors').querySelector('tbody')
    eb.innerHTML = ''
    if (!s.errors.length) { var tr0 = document.createElement('tr'); cell(tr0, 'no failure', 'empty').colSpan = 4; eb.appendChild(tr0) }
    s.errors.forEach(function (e) {
      var tr = document.createElement('tr')
      cell(tr, LL.fmt('count', e.count), 'n'); cell(tr, e.type); cell(tr, e.name, 'name'); cell(tr, e.message, 'name')
      eb.appendChild(tr)
    })
    drawFindings(s)
  }

  var lastFindings = []
  var findingsKey = ''
  var findingCharts = []
  /** The finding cards: title, cause, evidence, the proof chart (as in the report) and what to do; rebuilt when the diagnosis changes. */
  function drawFindings (s) {
    var fl = $('findings')
    var key = JSON.stringify([s.state === 'done', s.findings.map(function (f) { return [f.id, f.title, f.evidence && f.evidence.facts] }), (s.findingCharts || []).map(function (c) { return c ? c.x.length : 0 })])
    lastFindings = s.findings
    if (key === findingsKey) return
    findingsKey = key
    findingCharts.forEach(function (c) { if (c && c.destroy) c.destroy() })
    findingCharts = []
    fl.innerHTML = ''
    if (!s.findings.length) {
      var p = document.createElement('p'); p.className = 'empty'
      p.textContent = s.state === 'done' ? 'No bottleneck found: no detector fired on this run.' : 'None so far. Findings appear here as the diagnosis sees them.'
      fl.appendChild(p)
    }
    s.findings.forEach(function (f, i) {
      var card = document.createElement('div'); card.className = 'card finding ' + f.severity
      var h = document.createElement('h3')
      var b = document.createElement('span'); b.className = 'badge ' + f.severity; b.textContent = f.severity
      var t = document.createElement('span'); t.textContent = f.title
      var conf = document.createElement('span'); conf.className = 'sub'; conf.textContent = 'confidence ' + Math.round(f.confidence * 100) + '%'
      h.appendChild(b); h.appendChild(t); h.appendChild(conf); card.appendChild(h)
      var c = document.createElement('p'); c.textContent = f.cause; card.appendChild(c)
      var spec = (s.findingCharts || [])[i]
      if (spec) {
        var box = document.createElement('div'); box.className = 'chartbox'
        var el = document.createElement('div'); el.className = 'chart'; el.setAttribute('data-chart', spec.id)
        var note = document.createElement('div'); note.className = 'note'; note.textContent = 'the shaded band is the window of the finding'
        box.appendChild(el); box.appendChild(note); card.appendChild(box)
        findingCharts.push({ el: el, spec: spec })
      }
      var facts = (f.evidence && f.evidence.facts) || []
      if (facts.length) {
        var eh = document.createElement('h3'); eh.textContent = 'Evidence'; card.appendChild(eh)
        var eul = document.createElement('ul'); eul.className = 'evidence'
        facts.forEach(function (x) { var li = document.createElement('li'); li.textContent = x; eul.appendChild(li) })
        card.appendChild(eul)
      }
      if (f.recommendations && f.recommendations.length) {
        var rh = document.createElement('h3'); rh.textContent = 'What to do'; card.appendChild(rh)
        var ul = document.createElement('ul')
        f.recommendations.forEach(function (r) { var li = document.createElement('li'); li.textContent = r; ul.appendChild(li) })
        card.appendChild(ul)
      }
      fl.appendChild(card)
    })
    // drawn once the cards are in the page (uPlot needs the width)
    findingCharts = findingCharts.map(function (x) { return LL.chart(x.el, x.spec) })
  }

  function clock (s) {
    s = Math.max(0, Math.round(s))
    return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0')
  }

  function render (s) {
    var st = $('state')
    st.textContent = s.state
    st.className = 'badge ' + s.state
    var running = s.state === 'running' || s.state === 'starting' || s.state === 'stopping'
    if ($('start-btn')) $('start-btn').disabled = running
    $('users-btn').disabled = s.state !== 'running' || (s.info && s.info.model.kind !== 'closed')
    $('stop-btn').disabled = !(s.state === 'running' || s.state === 'starting')
    if (s.state === 'idle') return
    text($('elapsed'), clock(s.elapsedS) + ' of ' + clock(s.info.durationS) + ' · ' + s.info.host + (s.info.profile ? ' · profile ' + s.info.profile : ''))
    if (s.message) showError(s.message)
    text($('k-users'), LL.fmt('count', s.stats.users))
    // the steering form starts from the users running now
    var uin = $('steer') && $('steer').querySelector('input[name=users]')
    // (never over a number someone typed: only an empty field or the one this filled in)
    if (uin && document.activeElement !== uin && s.state === 'running' && (uin.value === '' || uin.value === uin.getAttribute('data-users'))) {
      uin.value = String(s.stats.users)
      uin.setAttribute('data-users', String(s.stats.users))
    }
    text($('k-rps'), LL.fmt('req_s', s.stats.rps))
    text($('k-fail'), (s.stats.requests ? (100 * s.stats.failures / s.stats.requests).toFixed(2) : '0.00') + '%')
    text($('k-p50'), LL.fmt('ms', s.stats.current.p50))
    text($('k-p95'), LL.fmt('ms', s.stats.current.p95))
    text($('k-p99'), LL.fmt('ms', s.stats.current.p99))
    text($('k-reqs'), LL.fmt('count', s.stats.requests))
    s.points.forEach(function (p) { points[p.t] = p; if (p.t > lastT) lastT = p.t })
    s.probes.forEach(function (x) {
      var e = probes[x.id] || (probes[x.id] = { meta: x, values: {} })
      x.points.forEach(function (pt) { e.values[Math.floor(pt[0])] = pt[1]; if (pt[0] > lastT) lastT = Math.floor(pt[0]) })
    })
    var t0 = s.startedAt ? Math.floor(s.startedAt / 1000) : undefined
    drawCharts(grid(), t0)
    drawTables(s)
    if (s.result) {
      $('done').hidden = false
      var v = $('verdict'); v.textContent = s.result.verdict.label; v.className = 'badge ' + s.result.verdict.state
      text($('verdict-text'), s.result.verdict.summary)
      var files = s.result.files || {}
      text($('saved'), files.json ? ' · saved as ' + files.json : '')
    }
  }

  var timer = null
  function poll () {
    clearTimeout(timer)
    var since = Math.max(0, lastT - 2)
    fetch('/api/live?since=' + since, { credentials: 'same-origin', headers: token ? { 'x-loadlens-token': token } : {} })
      .then(function (r) { return r.json() })
      .then(function (s) {
        if (s.id !== undefined && s.id !== runId) { if (runId !== null) reset(); runId = s.id }
        render(s)
        timer = setTimeout(poll, s.state === 'done' || s.state === 'failed' || s.state === 'idle' ? 3000 : 1000)
      }, function () { timer = setTimeout(poll, 2000) })
  }
  poll()
})()
