/// The inline stylesheet and script of ``HTMLPage``.
enum HTMLAssets {
    static let css = """
    body{font:13px system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
    header{display:flex;gap:1em;align-items:center;padding:6px 12px;background:#24323f;color:#fff}
    header h1{font-size:15px;margin:0}
    button{margin-right:4px;min-width:2.2em}
    #verdict{padding:6px 12px}
    #verdict.ok{background:#e3f4e3}#verdict.bad{background:#fbe3e3}
    #verdict a{color:#a00;cursor:pointer;text-decoration:underline;margin-right:.5em}
    #view{display:flex;border-top:1px solid #ccc;border-bottom:1px solid #ccc;background:#fff}
    #labels{flex:none;width:230px;overflow:hidden;border-right:1px solid #ccc}
    #labels div{height:28px;line-height:28px;padding:0 6px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
    #labels div:nth-child(odd),.lanebg.odd{background:#f3f6f9;fill:#f3f6f9}
    .lanebg{fill:#fff}
    #scroller{flex:auto;overflow-x:auto;overflow-y:hidden}
    .life{stroke:#8aa;stroke-width:3}
    .mark{cursor:pointer;stroke:#fff;stroke-width:1}
    .mark.hl{stroke:#d00;stroke-width:3}
    .flow{stroke-width:1.3;fill:none;opacity:.75}
    .axis{stroke:#bbb}.tick{font-size:10px;fill:#666}
    #details{margin:0;padding:8px 12px;min-height:5em;background:#fff;border-bottom:1px solid #ccc}
    #forkline-error{background:#f33;color:#fff;padding:8px}
    """

    static let script = #"""
    (function () {
      function fail(msg) {
        var d = document.getElementById('forkline-error') || document.createElement('div');
        d.id = 'forkline-error'; d.textContent = 'script error: ' + msg; document.body.insertBefore(d, document.body.firstChild);
        document.title = 'Forkline timeline: script error';
      }
      window.onerror = function (m, src, line) { fail(m + ' (line ' + line + ')'); };
      try {
        var NS = 'http://www.w3.org/2000/svg', D = JSON.parse(document.getElementById('trace-data').textContent);
        var ROW = 28, TOP = 24, svg = document.getElementById('timeline'), scroller = document.getElementById('scroller');
        var colors = {fork: '#c80', request: '#c80', message: '#27c', lock: '#7a3', join: '#36a'};
        var kindColor = {start: '#1a9', fork: '#c80', request: '#c80', exit: '#393', crash: '#d00', join: '#36a',
          kill: '#a3a', terminate: '#a3a', send: '#27c', recv: '#27c', lockAcquire: '#7a3', lockRelease: '#7a3',
          startFailed: '#d00', traceCut: '#d00', mark: '#555'};
        var zoom = 1, selected = [];
        function el(name, attrs, parent) {
          var e = document.createElementNS(NS, name);
          for (var k in attrs) e.setAttribute(k, attrs[k]);
          if (parent) parent.appendChild(e);
          return e;
        }
        function fmt(ns) {
          if (ns >= 1e9) return (ns / 1e9).toFixed(2) + ' s';
          if (ns >= 1e6) return (ns / 1e6).toFixed(2) + ' ms';
          if (ns >= 1e3) return (ns / 1e3).toFixed(2) + ' us';
          return ns + ' ns';
        }
        var labels = document.getElementById('labels');
        labels.style.paddingTop = TOP + 'px';
        D.lanes.forEach(function (l) { var d = document.createElement('div'); d.className = 'lane'; d.textContent = l.label; d.title = l.label; labels.appendChild(d); });
        document.getElementById('span').textContent = D.lanes.length + ' processes, ' + D.count + ' events, ' + fmt(D.span);
        function draw() {
          var base = Math.max(300, scroller.clientWidth - 30), width = base * zoom, span = Math.max(1, D.span);
          var x = function (t) { return 10 + t / span * width; };
          while (svg.firstChild) svg.removeChild(svg.firstChild);
          var h = TOP + D.lanes.length * ROW + 10;
          svg.setAttribute('width', width + 20); svg.setAttribute('height', h);
          var defs = el('defs', {}, svg);
          Object.keys(colors).concat(['other']).forEach(function (k) {
            var m = el('marker', {id: 'arrow-' + k, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto'}, defs);
            el('path', {d: 'M0,0L10,5L0,10z', fill: colors[k] || '#888'}, m);
          });
          for (var i = 0; i <= 8; i++) {
            var t = span * i / 8, tx = x(t);
            el('line', {x1: tx, x2: tx, y1: TOP - 6, y2: h, 'class': 'axis'}, svg);
            el('text', {x: tx + (i === 8 ? -2 : 2), y: 12, 'class': 'tick', 'text-anchor': i === 8 ? 'end' : 'start'}, svg).textContent = fmt(Math.round(t));
          }
          D.lanes.forEach(function (l, i) {
            el('rect', {x: 0, y: TOP + i * ROW, width: width + 20, height: ROW, 'class': 'lanebg' + (i % 2 ? '' : ' odd')}, svg);
            el('line', {x1: x(l.a), x2: x(l.b), y1: TOP + i * ROW + ROW / 2, y2: TOP + i * ROW + ROW / 2, 'class': 'life'}, svg);
          });
          var cy = function (e) { return TOP + e.l * ROW + ROW / 2; };
          D.flows.forEach(function (f) {
            var a = D.events[f.a], b = D.events[f.b], k = colors[f.l] ? f.l : 'other';
            var p = el('line', {x1: x(a.t), y1: cy(a), x2: x(b.t), y2: cy(b) + (cy(b) > cy(a) ? -6 : 6), 'class': 'flow',
              stroke: colors[k] || '#888', 'marker-end': 'url(#arrow-' + k + ')'}, svg);
            el('title', {}, p).textContent = f.l + ': ' + a.k + ' -> ' + b.k + ' (' + fmt(Math.max(0, b.t - a.t)) + ')';
          });
          D.events.forEach(function (e, i) {
            var c = el('circle', {id: 'ev-' + i, cx: x(e.t), cy: cy(e), r: 5, fill: kindColor[e.k] || '#777',
              'class': 'mark' + (selected.indexOf(i) >= 0 ? ' hl' : '')}, svg);
            el('title', {}, c).textContent = e.d;
            c.addEventListener('mouseover', function () { document.getElementById('details').textContent = e.d; });
          });
        }
        function select(list) {
          selected = list; draw();
          if (list.length) {
            var c = document.getElementById('ev-' + list[0]);
            scroller.scrollLeft = Math.max(0, parseFloat(c.getAttribute('cx')) - scroller.clientWidth / 3);
            document.getElementById('details').textContent = list.map(function (i) { return D.events[i].d; }).join('\n\n');
          }
        }
        function setZoom(z, anchor) {
          var frac = (scroller.scrollLeft + (anchor || scroller.clientWidth / 2)) / Math.max(1, scroller.scrollWidth);
          zoom = Math.min(1e5, Math.max(1, z)); draw();
          scroller.scrollLeft = frac * scroller.scrollWidth - (anchor || scroller.clientWidth / 2);
        }
        document.getElementById('zoom-in').onclick = function () { setZoom(zoom * 2); };
        document.getElementById('zoom-out').onclick = function () { setZoom(zoom / 2); };
        document.getElementById('zoom-fit').onclick = function () { setZoom(1); };
        scroller.addEventListener('wheel', function (ev) {
          if (!ev.ctrlKey) return;
          ev.preventDefault();
          setZoom(zoom * (ev.deltaY < 0 ? 1.25 : 0.8), ev.clientX - scroller.getBoundingClientRect().left);
        }, {passive: false});
        var v = document.getElementById('verdict');
        v.className = D.ok ? 'ok' : 'bad';
        var head = document.createElement('div'); head.textContent = 'check: ' + D.summary; v.appendChild(head);
        var ul = document.createElement('ul');
        D.violations.forEach(function (x, n) {
          var li = document.createElement('li'), a = document.createElement('a');
          a.textContent = '[' + x.rule + ']'; a.id = 'violation-' + n; a.href = '#ev-' + (x.events[0] === undefined ? '' : x.events[0]);
          a.onclick = function (ev) { ev.preventDefault(); select(x.events); };
          li.appendChild(a); li.appendChild(document.createTextNode(x.message)); ul.appendChild(li);
        });
        D.notes.forEach(function (x) { var li = document.createElement('li'); li.textContent = 'note: ' + x; ul.appendChild(li); });
        if (ul.childNodes.length) v.appendChild(ul);
        draw();
        window.addEventListener('resize', draw);
        var ready = document.createElement('div');
        ready.id = 'forkline-ready'; ready.hidden = true;
        ready.setAttribute('data-lanes', D.lanes.length); ready.setAttribute('data-marks', svg.querySelectorAll('circle.mark').length);
        ready.setAttribute('data-flows', svg.querySelectorAll('line.flow').length);
        document.body.appendChild(ready);
        document.title = D.title + ': ' + D.lanes.length + ' processes, ' + (D.ok ? 'check OK' : D.violations.length + ' violation(s)');
      } catch (e) { fail(e && e.message ? e.message : String(e)); }
    })();
    """#
}
