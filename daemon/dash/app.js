// paced dashboard: one team, one period. Reads the read API (/v1/org,
// /v1/leaderboards, /v1/teams/{id}/scorecard, /v1/reps/{id}/scorecard,
// /v1/alerts, /v1/contests) and keeps it on screen.
//
// Updates: the change stream (/v1/stream?team=ID, Server-Sent Events) when
// the daemon answers it, read with fetch so that the bearer token goes in
// a header (EventSource cannot send one); each event refreshes the page.
// Without the stream, the page polls every 2 s while the tab is visible.
// Either way the figures are read again every 30 s: pace moves with the
// clock even when nobody sells.
//
// Query parameters (all optional, kept in the address bar): team, period,
// kpi, by (value|percent), tv=1 (TV mode), rotate=SECONDS (TV boards).
'use strict';

(function () {
  const POLL_MS = 2000;
  const STREAM_REFRESH_MS = 30000;
  const STREAM_RETRY_MS = 15000;
  const STREAM_ABSENT_RETRY_MS = 300000;
  const CONTESTS_EVERY_MS = 15000;
  const MOVED_MS = 12000;
  const TOKEN_KEY = 'paced.token';
  const ACTIVITY = 'activity_score';
  const STATUS_TEXT = {
    ahead: 'ahead', on_pace: 'on pace', behind: 'behind',
    critical: 'critical', not_started: 'not started'
  };
  const STATUS_RANK = { critical: 4, behind: 3, on_pace: 2, ahead: 1, not_started: 0 };

  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);

  const state = {
    org: null,
    team: params.get('team'),
    period: params.get('period') || 'day',
    kpi: params.get('kpi'),
    by: params.get('by') === 'percent' ? 'percent' : 'value',
    tv: params.get('tv') === '1',
    rotateSec: clampInt(params.get('rotate'), 15, 5, 600),
    token: sessionStorage.getItem(TOKEN_KEY),
    slide: 0,
    slides: [],
    ranks: new Map(),     // board key -> Map(rep -> rank)
    moved: new Map(),     // rep -> {dir, n, until}
    refreshing: false,
    again: false,
    lastRefresh: 0,       // last refresh that succeeded
    lastTry: 0,           // last refresh started
    streamCtl: null,
    streamUp: false,
    streamRetryAt: 0,
    contestsAt: 0,
    contests: null,
    standings: {},
    reps: [],
    teamCard: null
  };

  function clampInt(s, dflt, lo, hi) {
    const n = parseInt(s, 10);
    if (!Number.isFinite(n)) return dflt;
    return Math.min(hi, Math.max(lo, n));
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // ---- the API ----------------------------------------------------------

  class AuthError extends Error {}
  class HttpError extends Error {
    constructor(status, msg) { super(msg); this.status = status; }
  }

  function authHeaders(extra) {
    const h = Object.assign({}, extra || {});
    if (state.token) h.Authorization = 'Bearer ' + state.token;
    return h;
  }

  async function api(path) {
    const res = await fetch(path, { headers: authHeaders(), cache: 'no-store' });
    if (res.status === 401) throw new AuthError('token required');
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      const msg = body && body.error ? body.error : res.statusText;
      throw new HttpError(res.status, path.split('?')[0] + ': ' + res.status + ' ' + msg);
    }
    return body;
  }

  function q(obj) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null) p.set(k, v);
    return p.toString();
  }

  // ---- formatting -------------------------------------------------------

  const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
  const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const oneDec = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

  function kpiInfo(name) {
    if (!state.org) return null;
    return state.org.kpis.find((k) => k.kpi === name) || null;
  }

  function fmt(v, kpi) {
    if (v === null || v === undefined) return '\u2014';
    const info = typeof kpi === 'string' ? kpiInfo(kpi) : kpi;
    if (info && info.measure === 'amount') return compact.format(v);
    if (Math.abs(v) >= 100000) return compact.format(v);
    return Number.isInteger(v) ? whole.format(v) : oneDec.format(v);
  }

  function label(name) {
    if (name === ACTIVITY) return 'Activity score';
    const s = String(name).replace(/_/g, ' ');
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function ago(iso) {
    const t = Date.parse(iso);
    if (!Number.isFinite(t)) return '';
    const s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    if (s < 86400) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' d ago';
  }

  function statusClass(s) {
    return 's-' + (s && STATUS_TEXT[s] ? s : 'none');
  }

  // A bar from 0 to the target: filled to the actual, a tick where the
  // rep should be by now, coloured by the pace status.
  function paceBar(k) {
    const bar = el('div', 'pace ' + statusClass(k.status));
    const fill = el('div', 'fill');
    const target = k.target;
    if (target !== null && target !== undefined && target > 0) {
      const share = k.actual / target;
      fill.style.width = Math.max(0, Math.min(100, share * 100)) + '%';
      if (share > 1) bar.classList.add('over');
      if (k.expected_to_date !== null && k.expected_to_date !== undefined) {
        const mark = el('div', 'mark');
        mark.style.left = Math.max(0, Math.min(100, (k.expected_to_date / target) * 100)) + '%';
        bar.appendChild(mark);
      }
    } else {
      fill.style.width = '0%';
    }
    bar.insertBefore(fill, bar.firstChild);
    return bar;
  }

  // ---- rendering --------------------------------------------------------

  function setLive(kind, text) {
    const live = $('live');
    live.className = 'live ' + kind;
    $('live-text').textContent = text;
  }

  function showError(msg) {
    const e = $('error');
    if (!msg) { e.hidden = true; e.textContent = ''; return; }
    e.textContent = msg;
    e.hidden = false;
  }

  function currentTeam() {
    if (!state.org) return null;
    return state.org.teams.find((t) => t.team_id === state.team) || null;
  }

  function boardKpi() {
    if (state.tv && state.slides.length > 0) {
      const s = state.slides[state.slide % state.slides.length];
      return s === 'reps' ? state.kpi : s;
    }
    return state.kpi;
  }

  function renderTitle() {
    const t = currentTeam();
    const teamName = t ? t.team_id : state.team || '';
    $('title').textContent = 'Team ' + teamName + ' \u00b7 ' + label(state.period);
    const card = state.teamCard;
    let sub = '';
    if (card && card.period_start) {
      const pct = Math.round((card.elapsed_fraction || 0) * 100);
      sub = card.period_start.slice(0, 10) + ' \u2192 ' + card.period_end.slice(0, 10) +
        ' \u00b7 ' + pct + '% of the working time gone';
    }
    $('subtitle').textContent = sub;
    document.title = 'paced \u00b7 ' + teamName + ' \u00b7 ' + state.period;
  }

  function noteMoves(key, entries) {
    const before = state.ranks.get(key);
    const now = new Map();
    for (const e of entries) now.set(e.rep_id, e.rank);
    if (before) {
      for (const [rep, rank] of now) {
        const old = before.get(rep);
        if (old !== undefined && old !== rank) {
          state.moved.set(key + '|' + rep, {
            dir: rank < old ? 'up' : 'down', n: Math.abs(old - rank), until: Date.now() + MOVED_MS
          });
        }
      }
    }
    state.ranks.set(key, now);
  }

  function renderBoard(board, kpi) {
    const body = $('board').tBodies[0];
    const score = kpi === ACTIVITY;
    const key = [state.team, state.period, kpi, state.by].join('|');
    noteMoves(key, board.entries);
    $('board-title').textContent = label(kpi);
    $('board-sub').textContent = score ? 'weighted % of target' :
      (board.by === 'percent' ? 'ranked by % of target' : 'ranked by value') +
      ' \u00b7 ' + board.size + ' reps';
    $('board-col-value').textContent = score ? 'Score' : 'Value';
    $('board-col-target').textContent = score ? 'Role' : 'Target';
    $('board-col-bar').textContent = score ? 'Score' : '% of target';
    const statusOf = new Map();
    for (const r of state.reps) {
      if (!r) continue;
      const k = (r.kpis || []).find((x) => x.kpi === kpi);
      if (k) statusOf.set(r.rep_id, k.status);
    }
    const rows = [];
    const now = Date.now();
    for (const e of board.entries) {
      const tr = el('tr');
      tr.dataset.rep = e.rep_id;
      tr.dataset.rank = e.rank;
      const mv = state.moved.get(key + '|' + e.rep_id);
      const rankCell = el('td', 'rank');
      rankCell.appendChild(el('span', 'rank-n' + (e.rank <= 3 ? ' top' + e.rank : ''), e.rank));
      if (mv && mv.until > now) {
        tr.classList.add('moved-' + mv.dir);
        rankCell.appendChild(el('span', 'move ' + mv.dir, (mv.dir === 'up' ? '\u25b2' : '\u25bc') + mv.n));
      }
      tr.appendChild(rankCell);
      const who = el('td', 'who');
      who.appendChild(el('span', 'rep', e.rep_id));
      if (e.tied) who.appendChild(el('span', 'tag', 'tied'));
      tr.appendChild(who);
      if (score) {
        tr.appendChild(el('td', 'num value', oneDec.format(e.score)));
        tr.appendChild(el('td', 'num target', e.role));
        const td = el('td', 'bar-col');
        const k = { actual: e.score, target: 100, expected_to_date: null, status: null };
        const b = paceBar(k);
        b.classList.add('s-score');
        td.appendChild(b);
        tr.appendChild(td);
      } else {
        tr.appendChild(el('td', 'num value', fmt(e.value, kpi)));
        tr.appendChild(el('td', 'num target', fmt(e.target, kpi)));
        const td = el('td', 'bar-col');
        const wrap = el('div', 'bar-wrap');
        wrap.appendChild(paceBar({
          actual: e.value, target: e.target, expected_to_date: null,
          status: e.target === null ? null : statusOf.get(e.rep_id) || null
        }));
        wrap.appendChild(el('span', 'pct', e.percent_to_target === null ? '\u2014' :
          whole.format(e.percent_to_target) + '%'));
        td.appendChild(wrap);
        tr.appendChild(td);
      }
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    $('board-empty').hidden = rows.length > 0;
  }

  function kpiRow(k) {
    const row = el('div', 'kpi-row ' + statusClass(k.status));
    const head = el('div', 'kpi-head');
    head.appendChild(el('span', 'kpi-name', label(k.kpi)));
    const fig = el('span', 'kpi-fig');
    fig.appendChild(el('b', null, fmt(k.actual, k.kpi)));
    fig.appendChild(document.createTextNode(' / ' + fmt(k.target, k.kpi)));
    head.appendChild(fig);
    row.appendChild(head);
    row.appendChild(paceBar(k));
    const foot = el('div', 'kpi-foot');
    foot.appendChild(el('span', 'status ' + statusClass(k.status), STATUS_TEXT[k.status] || 'no target'));
    if (k.target === 0) foot.appendChild(el('span', null, 'no target in this period'));
    if (k.pace !== null && k.pace !== undefined) {
      foot.appendChild(el('span', null, 'pace ' + whole.format(k.pace * 100) + '%'));
    }
    if (k.projected !== null && k.projected !== undefined) {
      foot.appendChild(el('span', 'proj', 'projected ' + fmt(k.projected, k.kpi)));
    }
    row.appendChild(foot);
    return row;
  }

  function renderTeam(card) {
    const list = $('team-kpis');
    const rows = [];
    for (const k of card.kpis || []) if (k.target !== null) rows.push(kpiRow(k));
    if (rows.length === 0) rows.push(el('p', 'empty', 'No targets for this period.'));
    list.replaceChildren(...rows);
    $('team-sub').textContent = card.reps_count + ' reps';
  }

  function worst(kpis) {
    let w = null;
    for (const k of kpis) {
      if (!k.status) continue;
      if (w === null || (STATUS_RANK[k.status] || 0) > (STATUS_RANK[w] || 0)) w = k.status;
    }
    return w;
  }

  function renderReps(reps) {
    const cards = [];
    for (const r of reps) {
      if (!r) continue;
      const withTarget = (r.kpis || []).filter((k) => k.target !== null);
      const status = worst(withTarget);
      const card = el('article', 'card ' + statusClass(status));
      card.dataset.rep = r.rep_id;
      const head = el('div', 'card-head');
      head.appendChild(el('span', 'rep', r.rep_id));
      head.appendChild(el('span', 'role', r.role));
      head.appendChild(el('span', 'status ' + statusClass(status), STATUS_TEXT[status] || 'no target'));
      card.appendChild(head);
      for (const k of withTarget) card.appendChild(kpiRow(k));
      const others = (r.kpis || []).filter((k) => k.target === null && k.actual > 0);
      if (others.length > 0) {
        card.appendChild(el('div', 'others', others.map((k) => label(k.kpi) + ' ' + fmt(k.actual, k.kpi)).join(' \u00b7 ')));
      }
      if (withTarget.length === 0 && others.length === 0) card.appendChild(el('p', 'empty', 'No activity, no target.'));
      cards.push(card);
    }
    $('reps').replaceChildren(...cards);
  }

  function renderAlerts(all) {
    const mine = (all.alerts || []).filter((a) => a.team_id === state.team);
    mine.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'critical' ? -1 : 1) ||
      String(b.evaluated_at).localeCompare(String(a.evaluated_at)));
    const items = [];
    for (const a of mine) {
      const li = el('li', 'alert ' + (a.severity === 'critical' ? 'sev-critical' : 'sev-warning'));
      const top = el('div', 'alert-top');
      top.appendChild(el('span', 'sev', a.severity));
      top.appendChild(el('span', 'who', a.rep_id + ' \u00b7 ' + label(a.kpi) + ' \u00b7 ' + a.period));
      top.appendChild(el('span', 'when', ago(a.evaluated_at)));
      li.appendChild(top);
      li.appendChild(el('div', 'msg', a.message));
      items.push(li);
    }
    if (items.length === 0) items.push(el('li', 'empty', 'No alert firing for this team.'));
    $('alerts').replaceChildren(...items);
    $('alert-count').textContent = mine.length ? String(mine.length) : '';
    $('alert-count').className = 'count' + (mine.some((a) => a.severity === 'critical') ? ' critical' : mine.length ? ' warning' : '');
  }

  // Running contests the team takes part in (GET /v1/contests lists
  // them with state and teams; GET /v1/contests/{id}?limit=3 gives the
  // leaders). A daemon without contests answers 404: the panel hides.
  function renderContests(data) {
    const panel = $('contests-panel');
    const list = data && Array.isArray(data.contests) ? data.contests : null;
    if (!list) { panel.hidden = true; return; }
    const items = [];
    for (const c of list) {
      if (c.state !== 'running') continue;
      if (Array.isArray(c.teams) && !c.teams.includes(state.team)) continue;
      const li = el('li', 'contest');
      li.appendChild(el('div', 'contest-name', c.name || c.id));
      const bits = [label(c.metric)];
      bits.push(c.kind === 'race' ? 'first to ' + fmt(c.goal, c.kpi) : 'highest total');
      if (c.ends_at) bits.push('ends ' + String(c.ends_at).slice(0, 16).replace('T', ' '));
      li.appendChild(el('div', 'contest-sub', bits.join(' \u00b7 ')));
      const leaders = state.standings[c.id];
      if (leaders && Array.isArray(leaders.entries)) {
        const ol = el('ol', 'contest-leaders');
        for (const e of leaders.entries.slice(0, 3)) {
          const who = e.rep_id || e.team_id;
          const done = e.reached ? ' \u2713' : '';
          ol.appendChild(el('li', null, '#' + e.rank + ' ' + who + ' ' + fmt(e.value, c.kpi) + done));
        }
        li.appendChild(ol);
      }
      items.push(li);
    }
    if (items.length === 0) items.push(el('li', 'empty', 'No contest running.'));
    $('contests').replaceChildren(...items);
    panel.hidden = false;
  }

  // ---- TV mode ----------------------------------------------------------

  function buildSlides() {
    const slides = [];
    const card = state.teamCard;
    const withTarget = new Set();
    if (card) for (const k of card.kpis || []) if (k.target !== null) withTarget.add(k.kpi);
    for (const k of state.org.kpis) if (withTarget.size === 0 || withTarget.has(k.kpi)) slides.push(k.kpi);
    if (state.org.activity_score) slides.push(ACTIVITY);
    slides.push('reps');
    const same = slides.length === state.slides.length && slides.every((s, i) => s === state.slides[i]);
    if (!same) {
      // At the start, the board picked; later, the one on screen.
      const cur = state.slides.length ? state.slides[state.slide % state.slides.length] : state.kpi;
      state.slides = slides;
      const i = slides.indexOf(cur);
      state.slide = i >= 0 ? i : 0;
    }
  }

  function applySlide() {
    const main = $('main');
    if (!state.tv) { main.classList.remove('show-reps'); return; }
    const s = state.slides[state.slide % Math.max(1, state.slides.length)];
    main.classList.toggle('show-reps', s === 'reps');
  }

  let rotateTimer = null;
  function restartRotation() {
    clearInterval(rotateTimer);
    rotateTimer = null;
    const bar = $('rotate');
    bar.hidden = !state.tv;
    if (!state.tv) return;
    const fill = $('rotate-fill');
    fill.style.animationDuration = state.rotateSec + 's';
    fill.classList.remove('run');
    void fill.offsetWidth;   // restart the animation
    fill.classList.add('run');
    rotateTimer = setInterval(() => {
      if (state.slides.length === 0) return;
      state.slide = (state.slide + 1) % state.slides.length;
      applySlide();
      fill.classList.remove('run');
      void fill.offsetWidth;
      fill.classList.add('run');
      refresh();
    }, state.rotateSec * 1000);
  }

  function setTv(on) {
    state.tv = on;
    document.documentElement.classList.toggle('tv', on);
    document.body.classList.toggle('tv', on);
    $('tv-toggle').textContent = on ? 'Exit TV' : 'TV';
    saveUrl();
    applySlide();
    restartRotation();
    refresh();
  }

  // ---- state in the address bar -----------------------------------------

  function saveUrl() {
    const p = new URLSearchParams();
    if (state.team) p.set('team', state.team);
    p.set('period', state.period);
    if (state.kpi) p.set('kpi', state.kpi);
    if (state.by !== 'value') p.set('by', state.by);
    if (state.tv) {
      p.set('tv', '1');
      if (state.rotateSec !== 15) p.set('rotate', String(state.rotateSec));
    }
    history.replaceState(null, '', '/?' + p.toString());
  }

  function fillSelect(sel, values, current, text) {
    sel.replaceChildren(...values.map((v) => {
      const o = el('option', null, text ? text(v) : v);
      o.value = v;
      if (v === current) o.selected = true;
      return o;
    }));
  }

  function setupPicks() {
    const org = state.org;
    const teams = org.teams.map((t) => t.team_id);
    if (!teams.includes(state.team)) state.team = teams[0] || null;
    if (!org.periods.includes(state.period)) state.period = 'day';
    const kpis = org.kpis.map((k) => k.kpi);
    if (org.activity_score) kpis.push(ACTIVITY);
    if (!kpis.includes(state.kpi)) state.kpi = kpis[0] || null;
    fillSelect($('team'), teams, state.team);
    fillSelect($('period'), org.periods, state.period, label);
    fillSelect($('kpi'), kpis, state.kpi, label);
    $('by').value = state.by;
    $('by').disabled = state.kpi === ACTIVITY;
    saveUrl();
  }

  // ---- refreshing -------------------------------------------------------

  async function refresh() {
    if (!state.org || !state.team) return;
    if (state.refreshing) { state.again = true; return; }
    state.refreshing = true;
    state.lastTry = Date.now();
    try {
      const team = currentTeam();
      const period = state.period;
      const kpi = boardKpi();
      const by = kpi === ACTIVITY ? 'value' : state.by;
      const limit = Math.min(1000, Math.max(10, team.reps.length));
      const scope = encodeURIComponent('team:' + team.team_id);
      const [board, teamCard, alerts, ...reps] = await Promise.all([
        api('/v1/leaderboards/' + scope + '/' + encodeURIComponent(kpi) + '?' + q({ period, by, limit })),
        api('/v1/teams/' + encodeURIComponent(team.team_id) + '/scorecard?' + q({ period })),
        api('/v1/alerts?status=firing'),
        ...team.reps.map((r) => api('/v1/reps/' + encodeURIComponent(r) + '/scorecard?' + q({ period }))
          .catch((e) => { if (e instanceof AuthError) throw e; return null; }))
      ]);
      // A pick changed while the answers were on their way: they are
      // for the old one.
      if (team.team_id !== state.team || period !== state.period || kpi !== boardKpi()) {
        state.again = true;
        return;
      }
      state.teamCard = teamCard;
      state.reps = reps;
      if (state.tv) buildSlides();
      renderTitle();
      renderBoard(board, kpi);
      renderTeam(teamCard);
      renderReps(reps);
      renderAlerts(alerts);
      if (Date.now() - state.contestsAt > CONTESTS_EVERY_MS) {
        state.contestsAt = Date.now();
        loadContests();
      } else {
        renderContests(state.contests);
      }
      state.lastRefresh = Date.now();
      showError(null);
      liveStatus();
    } catch (e) {
      handleError(e);
    } finally {
      state.refreshing = false;
      if (state.again) {
        state.again = false;
        setTimeout(refresh, 0);
      }
    }
  }

  async function loadContests() {
    try {
      const res = await fetch('/v1/contests', { headers: authHeaders(), cache: 'no-store' });
      const data = res.ok ? await res.json() : null;
      const running = data && Array.isArray(data.contests) ? data.contests.filter((c) => c.state === 'running') : [];
      const standings = {};
      await Promise.all(running.map(async (c) => {
        try {
          standings[c.id] = await api('/v1/contests/' + encodeURIComponent(c.id) + '?limit=3');
        } catch (e) {
          standings[c.id] = null;
        }
      }));
      state.contests = data;
      state.standings = standings;
      renderContests(data);
    } catch (e) {
      renderContests(null);
    }
  }

  function handleError(e) {
    if (e instanceof AuthError) {
      askToken(Boolean(state.token));
      return;
    }
    setLive('down', 'offline');
    showError('Cannot read paced: ' + e.message + '. Retrying.');
  }

  function liveStatus() {
    const t = new Date(state.lastRefresh || Date.now()).toLocaleTimeString();
    if (state.streamUp) setLive('up', 'live \u00b7 ' + t);
    else if (document.hidden) setLive('paused', 'paused');
    else setLive('poll', 'polling \u00b7 ' + t);
  }

  // ---- the change stream ------------------------------------------------

  let refreshSoon = null;
  function scheduleRefresh() {
    if (refreshSoon) return;
    refreshSoon = setTimeout(() => { refreshSoon = null; refresh(); }, 200);
  }

  function stopStream() {
    if (state.streamCtl) state.streamCtl.abort();
    state.streamCtl = null;
    state.streamUp = false;
  }

  async function openStream() {
    if (state.streamCtl || !state.team || !window.ReadableStream) return;
    const ctl = new AbortController();
    state.streamCtl = ctl;
    let retry = STREAM_RETRY_MS;
    try {
      const res = await fetch('/v1/stream?' + q({ team: state.team }), {
        headers: authHeaders({ Accept: 'text/event-stream' }), cache: 'no-store', signal: ctl.signal
      });
      const type = res.headers.get('Content-Type') || '';
      if (!res.ok || !type.startsWith('text/event-stream') || !res.body) {
        if (res.status === 404 || res.status === 400) retry = STREAM_ABSENT_RETRY_MS;
        ctl.abort();
        return;
      }
      state.streamUp = true;
      liveStatus();
      refresh();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n?/g, '\n');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          // Comment lines (": keep-alive") carry no change.
          if (block.split('\n').some((l) => l !== '' && !l.startsWith(':'))) scheduleRefresh();
        }
      }
    } catch (e) {
      if (ctl.signal.aborted && state.streamCtl !== ctl) return;   // closed on purpose
    } finally {
      if (state.streamCtl === ctl) {
        state.streamCtl = null;
        state.streamUp = false;
        state.streamRetryAt = Date.now() + retry;
        liveStatus();
      }
    }
  }

  function tick() {
    if (!state.org) return;
    const now = Date.now();
    if (!state.streamCtl && now >= state.streamRetryAt && !document.hidden) openStream();
    if (document.hidden) { liveStatus(); return; }
    const every = state.streamUp ? STREAM_REFRESH_MS : POLL_MS;
    if (now - state.lastTry >= every - 100) refresh();
  }

  // ---- the token --------------------------------------------------------

  function askToken(refused) {
    const dlg = $('token-dialog');
    $('token-error').hidden = !refused;
    setLive('down', 'token needed');
    if (!dlg.open) dlg.showModal();
    $('token-input').focus();
  }

  function onToken(ev) {
    ev.preventDefault();
    const v = $('token-input').value.trim();
    if (!v) return;
    state.token = v;
    sessionStorage.setItem(TOKEN_KEY, v);
    $('token-input').value = '';
    $('token-dialog').close();
    stopStream();
    state.streamRetryAt = 0;
    start();
  }

  // ---- start ------------------------------------------------------------

  async function start() {
    try {
      state.org = await api('/v1/org');
    } catch (e) {
      handleError(e);
      if (!(e instanceof AuthError)) setTimeout(start, 5000);
      return;
    }
    setupPicks();
    if (state.tv) buildSlides();
    applySlide();
    restartRotation();
    await refresh();
    tick();   // opens the stream unless a recent try failed
  }

  function onPick() {
    const team = $('team').value;
    const teamChanged = team !== state.team;
    state.team = team;
    state.period = $('period').value;
    state.kpi = $('kpi').value;
    state.by = $('by').value === 'percent' ? 'percent' : 'value';
    $('by').disabled = state.kpi === ACTIVITY;
    saveUrl();
    if (teamChanged) {
      stopStream();
      state.streamRetryAt = 0;
      openStream();
    }
    refresh();
  }

  document.addEventListener('DOMContentLoaded', () => {
    document.documentElement.classList.toggle('tv', state.tv);
    document.body.classList.toggle('tv', state.tv);
    $('tv-toggle').textContent = state.tv ? 'Exit TV' : 'TV';
    for (const id of ['team', 'period', 'kpi', 'by']) $(id).addEventListener('change', onPick);
    $('picks').addEventListener('submit', (ev) => ev.preventDefault());
    $('tv-toggle').addEventListener('click', () => setTv(!state.tv));
    $('token-form').addEventListener('submit', onToken);
    $('token-dialog').addEventListener('cancel', (ev) => ev.preventDefault());
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 't' && !(ev.target instanceof HTMLInputElement) && !(ev.target instanceof HTMLSelectElement)) {
        setTv(!state.tv);
      }
    });
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) liveStatus();
      else tick();
    });
    setInterval(tick, 500);
    start();
  });
})();
