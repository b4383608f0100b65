/// The inline stylesheet and script of ``HTMLPage``.
enum HTMLAssets {
    static let css = """
    body{font:13px system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
    header{display:flex;gap:1em;align-items:center;padding:6px 12px;background:#24323f;color:#fff}
    header h1{font-size:15px;margin:0}.hint{opacity:.7;font-size:12px}
    button{margin-right:4px;min-width:2.2em}
    #verdict{padding:6px 12px}
    #verdict.ok{background:#e3f4e3}#verdict.bad{background:#fbe3e3}
    #verdict a{color:#a00;cursor:pointer;text-decoration:underline;margin-right:.5em}
    #clocks{padding:4px 12px;font-size:12px;border-top:1px solid #ddd;background:#f4f4fb}
    #legend{padding:4px 12px;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;border-top:1px solid #ddd}
    #legend span{white-space:nowrap}#legend i{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px;vertical-align:-1px}
    #legend i.line{height:3px;border-radius:0;width:16px;vertical-align:2px}#legend i.bar{border-radius:2px;width:16px;height:8px}
    #view{border-top:1px solid #ccc;border-bottom:1px solid #ccc;background:#fff}
    #axis-row{display:flex;position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid #ddd}
    #axis-row .corner{flex:none;width:230px;border-right:1px solid #ccc;line-height:22px;padding:0 6px;box-sizing:border-box;color:#666}
    #axis{flex:auto;height:22px;display:block;min-width:0}
    #lanes-scroll{display:flex;max-height:70vh;overflow-y:auto}
    #labels{flex:none;width:230px;border-right:1px solid #ccc}
    #labels div{height:26px;line-height:26px;padding:0 6px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;box-sizing:border-box;border-left:4px solid transparent}
    #labels div:nth-child(odd){background:#f3f6f9}
    #labels div.death{border-left-color:#d62728}
    #plot{flex:auto;position:relative;min-width:0}
    #timeline{display:block;cursor:crosshair}
    #brush{position:absolute;top:0;bottom:0;background:rgba(39,119,204,.15);border:1px solid #27c;pointer-events:none}
    #details{margin:0;padding:8px 12px;min-height:5em;background:#fff;border-bottom:1px solid #ccc}
    #forkline-error{background:#f33;color:#fff;padding:8px}
    """

    static let script = #"""
    (function () {
      var T0 = performance.now();
      function fail(msg) {
        var d = document.getElementById('forkline-error') || document.createElement('div');
        d.id = 'forkline-error'; d.textContent = 'script error: ' + msg; document.body.insertBefore(d, document.body.firstChild);
        document.title = 'Forkline timeline: script error';
      }
      window.onerror = function (m, src, line) { fail(m + ' (line ' + line + ')'); };
      try {
        var D = JSON.parse(document.getElementById('trace-data').textContent);
        var E = D.ev, N = E.t.length, F = D.flows.a.length, ROW = 26, NL = D.lanes.length, DEATH = D.deathColor, BLOCKED = '#e0a030';
        var kindColor = {start: '#1a9', fork: '#c80', request: '#c80', exit: '#393', crash: DEATH, join: '#36a',
          kill: '#a3a', terminate: '#a3a', send: '#27c', recv: '#27c', lockAcquire: '#7a3', lockRelease: '#7a3',
          rlockAcquire: '#7a3', rlockRelease: '#7a3', semAcquire: '#7a3', semRelease: '#7a3', startFailed: DEATH, traceCut: DEATH,
          mark: '#555', taskBegin: '#999', taskEnd: '#999', poolSubmit: '#b7a', poolDispatch: '#b7a', poolResult: '#b7a',
          workerReplaced: '#e60', channelOpen: '#9ab', channelClose: '#9ab'};
        var kindText = {crash: 'crash', join: 'join', startFailed: 'start failed', traceCut: 'trace cut'};
        var flowColor = {fork: '#c80', request: '#c80', message: '#27c', lock: '#7a3', join: '#36a'};
        var rank = {crash: 5, startFailed: 5, traceCut: 5, exit: 4, start: 4, fork: 3, join: 3, kill: 3, terminate: 3, request: 3, workerReplaced: 3};
        var evColor = new Array(N), evRank = new Int8Array(N);
        for (var i = 0; i < N; i++) {
          var k = D.kinds[E.k[i]];
          evColor[i] = kindColor[k] || '#777'; evRank[i] = rank[k] || 1;
          // A join that saw a signal is drawn as the death it observed.
          if (k === 'join' && E.v[i].indexOf('status = signaled') >= 0) { evColor[i] = DEATH; evRank[i] = 5; }
        }
        var laneEv = [], laneT = [];
        for (var l = 0; l < NL; l++) laneEv.push([]);
        for (i = 0; i < N; i++) laneEv[E.l[i]].push(i);
        laneEv.forEach(function (list, l) {
          list.sort(function (a, b) { return E.t[a] - E.t[b] || a - b; });
          var ts = new Float64Array(list.length);
          for (var j = 0; j < list.length; j++) ts[j] = E.t[list[j]];
          laneT.push(ts);
        });
        // Flow ends in typed arrays: the draw loop reads them without indirection.
        var FTA = new Float64Array(F), FTB = new Float64Array(F), FLA = new Int32Array(F), FLB = new Int32Array(F);
        for (var f0 = 0; f0 < F; f0++) {
          var fa = D.flows.a[f0], fb = D.flows.b[f0];
          FTA[f0] = E.t[fa]; FTB[f0] = E.t[fb]; FLA[f0] = E.l[fa]; FLB[f0] = E.l[fb];
        }
        var tasksOf = [];
        for (l = 0; l < NL; l++) tasksOf.push([]);
        D.tasks.forEach(function (t) { tasksOf[t.l].push(t); });
        var span = Math.max(1, D.span), v0 = -span * 0.01, v1 = span * 1.02, selected = [];
        var axis = document.getElementById('axis'), canvas = document.getElementById('timeline'), plot = document.getElementById('plot');
        var ctx = canvas.getContext('2d'), actx = axis.getContext('2d'), W = 300, dpr = window.devicePixelRatio || 1;
        function fmt(ns) {
          var a = Math.abs(ns);
          if (a >= 1e9) return +(ns / 1e9).toPrecision(6) + ' s';
          if (a >= 1e6) return +(ns / 1e6).toPrecision(6) + ' ms';
          if (a >= 1e3) return +(ns / 1e3).toPrecision(6) + ' us';
          return Math.round(ns) + ' ns';
        }
        // A round step (1, 2 or 5 times a power of ten) giving about `n` ticks over `range`.
        function niceStep(range, n) {
          var raw = range / n, p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
          return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
        }
        function x(t) { return (t - v0) / (v1 - v0) * W; }
        function lower(a, t) { var lo = 0, hi = a.length; while (lo < hi) { var m = (lo + hi) >> 1; if (a[m] < t) lo = m + 1; else hi = m; } return lo; }
        function cy(l) { return l * ROW + ROW / 2; }
        var labels = document.getElementById('labels');
        D.lanes.forEach(function (l) {
          var d = document.createElement('div'); d.className = 'lane' + (l.death ? ' death' : ''); d.textContent = l.label;
          d.title = l.label + '\n' + l.endDetail; labels.appendChild(d);
        });
        document.getElementById('span').textContent = NL + ' processes, ' + D.eventCount + ' events, ' + fmt(D.span);
        function resize() {
          W = Math.max(300, plot.clientWidth);
          canvas.width = W * dpr; canvas.height = NL * ROW * dpr; canvas.style.width = W + 'px'; canvas.style.height = NL * ROW + 'px';
          axis.width = W * dpr; axis.height = 22 * dpr; axis.style.width = W + 'px';
          ctx.setTransform(dpr, 0, 0, dpr, 0, 0); actx.setTransform(dpr, 0, 0, dpr, 0, 0);
        }
        var drawn = 0;
        function draw() {
          var H = NL * ROW;
          ctx.clearRect(0, 0, W, H); actx.clearRect(0, 0, W, 22);
          ctx.fillStyle = '#f3f6f9';
          for (var l = 0; l < NL; l += 2) ctx.fillRect(0, l * ROW, W, ROW);
          // Round ticks on the axis and grid lines across the lanes.
          var step = niceStep(v1 - v0, Math.max(2, Math.floor(W / 120)));
          actx.fillStyle = '#555'; actx.font = '11px system-ui,sans-serif'; actx.textBaseline = 'middle';
          ctx.strokeStyle = '#e2e2e2'; ctx.lineWidth = 1; ctx.beginPath();
          for (var t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
            var tx = Math.round(x(t)) + 0.5;
            ctx.moveTo(tx, 0); ctx.lineTo(tx, H);
            actx.fillRect(tx - 0.5, 16, 1, 6); actx.fillText(fmt(t), tx + 3, 9);
          }
          ctx.stroke();
          // Lifetimes, to the death; the end's summary after a death.
          for (l = 0; l < NL; l++) {
            var ln = D.lanes[l], xa = Math.max(-5, x(ln.a)), xb = Math.min(W + 5, x(ln.b));
            if (xb >= -5 && xa <= W + 5) {
              ctx.fillStyle = '#9bb'; ctx.fillRect(xa, cy(l) - 1.5, Math.max(1, xb - xa), 3);
            }
            var ex = x(ln.b);
            if (ln.death && ex >= -10 && ex <= W + 10) {
              ctx.strokeStyle = DEATH; ctx.lineWidth = 2.5; ctx.beginPath();
              ctx.moveTo(ex - 5, cy(l) - 5); ctx.lineTo(ex + 5, cy(l) + 5); ctx.moveTo(ex + 5, cy(l) - 5); ctx.lineTo(ex - 5, cy(l) + 5); ctx.stroke();
              ctx.fillStyle = DEATH; ctx.font = '11px system-ui,sans-serif'; ctx.textBaseline = 'middle'; ctx.fillText(ln.end, ex + 9, cy(l));
            }
            // Pool tasks as bars under the lane's line (an unfinished one runs to the death).
            var ts = tasksOf[l];
            for (var j = 0; j < ts.length; j++) {
              var k = ts[j], ka = x(k.a), kb = x(k.b);
              if (kb < 0 || ka > W) continue;
              ctx.fillStyle = k.blocked ? BLOCKED : k.open ? DEATH : '#bbb'; ctx.globalAlpha = k.open ? 0.35 : 0.6;
              ctx.fillRect(ka, cy(l) + 3, Math.max(2, kb - ka), 7); ctx.globalAlpha = 1;
              if (kb - ka > 50) { ctx.fillStyle = '#333'; ctx.font = '10px system-ui,sans-serif'; ctx.fillText(k.n, ka + 3, cy(l) + 7); }
            }
          }
          // Flows, merged per pixel of their start and pair of lanes, stroked once per colour.
          // Many arrows in view: one per 8 pixels and pair of lanes, without heads.
          var visible = 0;
          for (var f = 0; f < F; f++) if (!((FTA[f] < v0 && FTB[f] < v0) || (FTA[f] > v1 && FTB[f] > v1))) visible++;
          var bucket = visible > 2000 ? 8 : 1, heads = visible <= 2000, cols = Math.ceil(W / bucket) + 3;
          var seen = new Map(), paths = {}, fl = 0;
          for (f = 0; f < F; f++) {
            var ta = FTA[f], tb = FTB[f];
            if ((ta < v0 && tb < v0) || (ta > v1 && tb > v1)) continue;
            var la = FLA[f], lb = FLB[f], pair = la * NL + lb, col = Math.min(cols - 1, Math.max(0, Math.floor(x(ta) / bucket) + 1));
            var bits = seen.get(pair);
            if (!bits) { bits = new Uint8Array(cols); seen.set(pair, bits); }
            if (bits[col]) continue;
            bits[col] = 1; fl++;
            var c = flowColor[D.flowLabels[D.flows.l[f]]] || '#888', p = paths[c] || (paths[c] = new Path2D());
            var x1 = x(ta), y1 = cy(la), x2 = x(tb), y2 = cy(lb) + (lb > la ? -5 : 5);
            p.moveTo(x1, y1); p.lineTo(x2, y2);
            if (!heads) continue;
            var ang = Math.atan2(y2 - y1, x2 - x1);
            p.moveTo(x2, y2); p.lineTo(x2 - 6 * Math.cos(ang - 0.45), y2 - 6 * Math.sin(ang - 0.45));
            p.moveTo(x2, y2); p.lineTo(x2 - 6 * Math.cos(ang + 0.45), y2 - 6 * Math.sin(ang + 0.45));
          }
          ctx.lineWidth = 1.2; ctx.globalAlpha = 0.7;
          for (c in paths) { ctx.strokeStyle = c; ctx.stroke(paths[c]); }
          ctx.globalAlpha = 1;
          // Marks: at most one per pixel column per lane (its most important event); a column
          // holding several is drawn taller.
          drawn = 0;
          for (l = 0; l < NL; l++) {
            var lt = laneT[l], le = laneEv[l], i0 = lower(lt, v0 - (v1 - v0) * 0.01), i1 = lower(lt, v1 + (v1 - v0) * 0.01 + 1);
            var sparse = i1 - i0 < W / 4, px = -1e9, best = -1, count = 0;
            for (var i = i0; i <= i1; i++) {
              var q = i < i1 ? Math.round(x(lt[i])) : 1e9;
              if (q !== px && best >= 0) {
                ctx.fillStyle = evColor[best];
                if (sparse && count === 1) { ctx.beginPath(); ctx.arc(px, cy(l), 4.5, 0, 6.2832); ctx.fill(); }
                else ctx.fillRect(px - 1.5, cy(l) - (count > 1 ? 8 : 5), 3, count > 1 ? 16 : 10);
                drawn++; best = -1; count = 0;
              }
              if (i === i1) break;
              px = q; count++;
              var ev = le[i];
              if (best < 0 || evRank[ev] > evRank[best]) best = ev;
            }
          }
          selected.forEach(function (i) {
            ctx.strokeStyle = '#d00'; ctx.lineWidth = 2.5; ctx.beginPath(); ctx.arc(x(E.t[i]), cy(E.l[i]), 8, 0, 6.2832); ctx.stroke();
          });
          return fl;
        }
        function details(i) {
          var ln = D.lanes[E.l[i]];
          return D.kinds[E.k[i]] + ' #' + E.s[i] + ' in ' + ln.label + ' at +' + fmt(E.t[i]) + (E.v[i] ? '\n' + E.v[i] : '');
        }
        function setView(a, b) {
          var w = Math.max(10, Math.min(span * 1.2, b - a)), c = (a + b) / 2;
          v0 = c - w / 2; v1 = c + w / 2;
          if (v0 < -span * 0.1) { v1 -= v0 + span * 0.1; v0 = -span * 0.1; }
          if (v1 > span * 1.1) { v0 -= v1 - span * 1.1; v1 = span * 1.1; }
        }
        var pending = false;
        function redraw() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); } }
        function zoomBy(f, at) {
          var t = v0 + (at === undefined ? 0.5 : at) * (v1 - v0);
          setView(t - (t - v0) / f, t + (v1 - t) / f); redraw();
        }
        function pan(fr) { var d = (v1 - v0) * fr; setView(v0 + d, v1 + d); redraw(); }
        document.getElementById('zoom-in').onclick = function () { zoomBy(2); };
        document.getElementById('zoom-out').onclick = function () { zoomBy(0.5); };
        document.getElementById('zoom-fit').onclick = function () { setView(-span * 0.01, span * 1.02); redraw(); };
        document.getElementById('pan-left').onclick = function () { pan(-0.25); };
        document.getElementById('pan-right').onclick = function () { pan(0.25); };
        canvas.addEventListener('wheel', function (ev) {
          var r = canvas.getBoundingClientRect();
          if (ev.ctrlKey) { ev.preventDefault(); zoomBy(ev.deltaY < 0 ? 1.25 : 0.8, (ev.clientX - r.left) / W); }
          else if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) { ev.preventDefault(); pan((ev.deltaX || ev.deltaY) / W); }
        }, {passive: false});
        // Drag across the timeline to zoom into that region; a click shows the nearest event.
        var brush = document.getElementById('brush'), dragFrom = null;
        canvas.addEventListener('mousedown', function (ev) { dragFrom = ev.offsetX; });
        window.addEventListener('mouseup', function (ev) {
          if (dragFrom === null) return;
          var r = canvas.getBoundingClientRect(), to = ev.clientX - r.left, a = Math.min(dragFrom, to), b = Math.max(dragFrom, to);
          dragFrom = null; brush.hidden = true;
          if (b - a > 5) { setView(v0 + a / W * (v1 - v0), v0 + b / W * (v1 - v0)); redraw(); }
        });
        canvas.addEventListener('mousemove', function (ev) {
          if (dragFrom !== null) {
            brush.hidden = false; brush.style.left = Math.min(dragFrom, ev.offsetX) + 'px'; brush.style.width = Math.abs(ev.offsetX - dragFrom) + 'px';
            return;
          }
          var l = Math.floor(ev.offsetY / ROW);
          if (l < 0 || l >= NL) return;
          var t = v0 + ev.offsetX / W * (v1 - v0), lt = laneT[l], j = lower(lt, t), bestI = -1, bestD = 7;
          for (var c = Math.max(0, j - 1); c <= Math.min(lt.length - 1, j); c++) {
            var d = Math.abs(x(lt[c]) - ev.offsetX);
            if (d < bestD) { bestD = d; bestI = laneEv[l][c]; }
          }
          var ln = D.lanes[l], out = null;
          if (bestI >= 0) out = details(bestI);
          else if (Math.abs(x(ln.b) - ev.offsetX) < 8) out = ln.label + ': ' + ln.endDetail;
          else tasksOf[l].forEach(function (k) { if (t >= k.a && t <= k.b) out = k.n + ' in ' + ln.label + ', ' + fmt(k.b - k.a) + (k.open ? ', unfinished: ' + k.why : ''); });
          if (out) document.getElementById('details').textContent = out;
        });
        // The legend: the colours and marks this trace uses.
        var legend = document.getElementById('legend'), used = {};
        for (i = 0; i < D.kinds.length; i++) used[D.kinds[i]] = true;
        function item(cls, color, text) {
          var s = document.createElement('span'), sw = document.createElement('i');
          sw.className = cls; sw.style.background = color; s.appendChild(sw); s.appendChild(document.createTextNode(text)); legend.appendChild(s);
        }
        Object.keys(used).forEach(function (k) { item('', kindColor[k] || '#777', k); });
        if (D.lanes.some(function (l) { return l.death; }) || used.crash) item('', DEATH, 'crash, kill, or a join that saw one (\u00d7 ends the lane)');
        item('line', '#9bb', 'alive');
        if (D.tasks.some(function (t) { return t.blocked; })) item('bar', BLOCKED, 'blocked (waiting for a lock, a message, a child, ...)');
        if (D.tasks.some(function (t) { return !t.blocked; })) { item('bar', '#bbb', 'pool task'); if (D.tasks.some(function (t) { return t.open; })) item('bar', DEATH, 'task cut short by its worker\u2019s death'); }
        D.flowLabels.forEach(function (f) { item('line', flowColor[f] || '#888', f + ' arrow'); });
        item('bar', '#777', 'a taller mark: several events in one pixel (zoom in)');
        var v = document.getElementById('verdict');
        v.className = D.ok ? 'ok' : 'bad';
        var head = document.createElement('div'); head.textContent = 'check: ' + D.summary; v.appendChild(head);
        var ul = document.createElement('ul');
        function select(list) {
          selected = list;
          if (list.length) {
            var ts = list.map(function (i) { return E.t[i]; }), a = Math.min.apply(null, ts), b = Math.max.apply(null, ts), pad = Math.max((b - a) * 0.3, span / 50);
            setView(a - pad, b + pad);
            document.getElementById('details').textContent = list.map(details).join('\n\n');
          }
          draw();
        }
        D.violations.forEach(function (x, n) {
          var li = document.createElement('li'), a = document.createElement('a');
          a.textContent = '[' + x.rule + ']'; a.id = 'violation-' + n; a.href = '#';
          a.onclick = function (ev) { ev.preventDefault(); select(x.events); };
          li.appendChild(a); li.appendChild(document.createTextNode(x.message)); ul.appendChild(li);
        });
        D.notes.forEach(function (x) { var li = document.createElement('li'); li.textContent = 'note: ' + x; ul.appendChild(li); });
        if (ul.childNodes.length) v.appendChild(ul);
        resize();
        var flowsDrawn = draw();
        ctx.getImageData(0, 0, 1, 1);
        window.addEventListener('resize', function () { resize(); draw(); });
        var ready = document.createElement('div');
        ready.id = 'forkline-ready'; ready.hidden = true;
        ready.setAttribute('data-lanes', NL); ready.setAttribute('data-marks', N); ready.setAttribute('data-flows', F);
        ready.setAttribute('data-marks-drawn', drawn); ready.setAttribute('data-flows-drawn', flowsDrawn);
        ready.setAttribute('data-load-ms', Math.round(performance.now()));
        ready.setAttribute('data-script-ms', Math.round(performance.now() - T0));
        if (location.hash === '#bench') {
          // Zoom in 8 times, pan 8 times, zoom out 8 times: each step drawn and rasterised.
          var steps = [], k;
          function step(fn) { var s = performance.now(); fn(); draw(); ctx.getImageData(0, 0, 1, 1); steps.push(performance.now() - s); }
          for (k = 0; k < 8; k++) step(function () { var c = (v0 + v1) / 2, w = (v1 - v0) / 1.6; setView(c - w / 2, c + w / 2); });
          for (k = 0; k < 8; k++) step(function () { var d = (v1 - v0) * 0.2; setView(v0 + d, v1 + d); });
          for (k = 0; k < 8; k++) step(function () { var c = (v0 + v1) / 2, w = (v1 - v0) * 1.6; setView(c - w / 2, c + w / 2); });
          step(function () { setView(0, span); });
          ready.setAttribute('data-max-step-ms', Math.round(Math.max.apply(null, steps)));
          // Drag across the second quarter: the view becomes that region.
          var r = canvas.getBoundingClientRect(), w0 = v0, w = v1 - v0;
          canvas.dispatchEvent(new MouseEvent('mousedown', {clientX: r.left + W * 0.25, clientY: r.top + 5, bubbles: true}));
          canvas.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + W * 0.4, clientY: r.top + 5, bubbles: true}));
          window.dispatchEvent(new MouseEvent('mouseup', {clientX: r.left + W * 0.5, clientY: r.top + 5, bubbles: true}));
          var dragOK = Math.abs(v0 - (w0 + w * 0.25)) < w * 0.01 && Math.abs(v1 - (w0 + w * 0.5)) < w * 0.01;
          ready.setAttribute('data-drag-zooms', dragOK);
          // Hover the first event of the first lane: its details show.
          setView(-span * 0.01, span * 1.02); draw();
          if (laneEv[0].length) {
            var e0 = laneEv[0][0];
            canvas.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + x(E.t[e0]), clientY: r.top + cy(0), bubbles: true}));
            ready.setAttribute('data-hover', document.getElementById('details').textContent.split('\n')[0]);
          }
          ready.setAttribute('data-steps-ms', steps.map(function (s) { return s.toFixed(1); }).join(' '));
        }
        document.body.appendChild(ready);
        document.title = D.title + ': ' + NL + ' processes, ' + (D.ok ? 'check OK' : D.violations.length + ' violation(s)');
      } catch (e) { fail(e && e.message ? e.message : String(e)); }
    })();
    """#
}
