// Keys panel, part 4 of 4: the panel itself (pads, keyboard, modes, settings, record).
//
// Started by gr.HTML's js_on_load with its element, `trigger` (events the server's
// handlers answer: see sda/ui/play/keys.py) and `upload` (files to the server).
// The server hands over pads with window.sdaKeys.load(files, data) and Explore sounds
// with window.sdaKeys.explore(files), after the handler that made them.

const KEYS_PAD_CODES = ["Digit1", "Digit2", "Digit3", "Digit4", "Digit5", "Digit6", "Digit7", "Digit8",
                        "KeyQ", "KeyW", "KeyE", "KeyR", "KeyT", "KeyY", "KeyU", "KeyI"];
const KEYS_CHROMATIC = ["KeyZ", "KeyS", "KeyX", "KeyD", "KeyC", "KeyV", "KeyG", "KeyB", "KeyH", "KeyN", "KeyJ",
                        "KeyM", "Comma"];   // a piano octave on the bottom rows, root to root + 12
const KEYS_NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
const KEYS_KIT_NOTE = 36;   // MIDI note of pad 1 in a kit (General MIDI's kick); pads follow by semitone
const keysLetter = (code) => code.replace(/^(Digit|Key)/, "").replace("Comma", ",");
// An event's time on the performance.now() clock (a few older browsers stamp events with the epoch).
const keysEventTime = (ev) => (ev.timeStamp > 1e12 ? ev.timeStamp - performance.timeOrigin : ev.timeStamp);
const keysNoteName = (n) => KEYS_NOTE_NAMES[n % 12] + (Math.floor(n / 12) - 1);

function sdaKeysStart(element, trigger, upload) {
  const root = element.closest("#keys") || element;
  const $ = (id) => element.querySelector("#" + id);
  const engine = new KeysEngine();
  const panel = { mode: "Kit", pads: [], settings: {}, model: "", notes: 0, latencies: [], armed: false,
                  explore: [], exploreAsked: 0, exploreUsed: 0, held: new Map(), rec: null, learning: null };
  const padsBox = $("keys-pads");

  // ------------------------------------------------------------------ pads on screen
  for (let i = 0; i < 16; i++) {
    const pad = document.createElement("button");
    pad.type = "button";
    pad.id = "keys-pad-" + i;
    pad.className = "keys-pad";
    pad.innerHTML = '<span class="keys-key"></span><canvas width="96" height="28"></canvas><span class="keys-name"></span>';
    pad.querySelector(".keys-key").textContent = keysLetter(KEYS_PAD_CODES[i]);
    pad.addEventListener("pointerdown", (ev) => { ev.preventDefault(); noteOn(padNote(i), 100, "pad" + i, ev); });
    pad.addEventListener("pointerup", (ev) => noteOff("pad" + i, ev));
    pad.addEventListener("pointerleave", (ev) => noteOff("pad" + i, ev));
    pad.addEventListener("dragover", (ev) => { ev.preventDefault(); pad.classList.add("keys-drop"); });
    pad.addEventListener("dragleave", () => pad.classList.remove("keys-drop"));
    pad.addEventListener("drop", (ev) => { ev.preventDefault(); pad.classList.remove("keys-drop"); dropOn(i, ev); });
    padsBox.appendChild(pad);
  }
  const padEl = (i) => padsBox.children[i];

  function showPads() {
    for (let i = 0; i < 16; i++) {
      const el = padEl(i), name = el.querySelector(".keys-name"), canvas = el.querySelector("canvas");
      const source = panel.mode === "Pitched" ? panel.pads[0] : panel.mode === "Kit" ? panel.pads[i] : null;
      name.textContent = panel.mode === "Pitched" ? keysNoteName(padNote(i))
        : panel.mode === "Explore" ? "new sound" : (source ? source.name : "empty");
      el.title = source ? source.name : "";
      keysDrawWave(canvas, source ? source.buffers[1] : null);
    }
  }

  // ------------------------------------------------------------------ settings
  const rootSelect = $("keys-root");
  for (let n = 36; n <= 84; n++) rootSelect.add(new Option(keysNoteName(n), String(n)));
  const controls = { curve: $("keys-curve"), gate: $("keys-gate"), root: rootSelect, chokes: $("keys-chokes") };
  const setting = (name, fallback) => (panel.settings[name] !== undefined ? panel.settings[name] : fallback);
  let saveTimer = null;
  function save() {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => trigger("submit", { settings: panel.settings }), 300);
  }
  for (const [name, el] of Object.entries(controls)) {
    el.addEventListener("change", () => { panel.settings[name] = el.value; save(); showPads(); });
  }
  function showSettings() {
    controls.curve.value = setting("curve", "linear");
    controls.gate.value = setting("gate", "oneshot");
    controls.root.value = String(setting("root", 60));
    controls.chokes.value = setting("chokes", "");
    showMappings();
  }
  // Choke groups as typed: "3 4, 7 8" (pads 3 and 4 cut each other; so do 7 and 8).
  function chokeOf(pad) {
    const groups = String(setting("chokes", "")).split(",");
    for (let g = 0; g < groups.length; g++) {
      if (groups[g].trim().split(/\s+/).map(Number).includes(pad + 1)) return g + 1;
    }
    return 0;
  }

  // ------------------------------------------------------------------ playing
  const rootNote = () => Number(setting("root", 60));
  function padNote(i) { return panel.mode === "Kit" ? KEYS_KIT_NOTE + i : rootNote() + i; }

  // Which sound a note plays, at what rate: null when nothing is loaded for it.
  function voiceFor(note, velocity) {
    const layer = velocity < 43 ? 0 : velocity < 86 ? 1 : 2;   // soft, middle, hard
    const pick = (pad) => (pad.layers ? pad.buffers[layer] : pad.buffers[1]);
    if (panel.mode === "Explore") {
      const next = panel.explore.shift();
      askExplore();
      if (!next) return null;
      panel.exploreUsed += 1;
      return { buffer: next.buffer, rate: 1, pad: (note - rootNote() + 1600) % 16, name: next.name };
    }
    if (panel.mode === "Pitched") {
      const pad = panel.pads[0];
      if (!pad) return null;
      const semis = note - rootNote();
      let octave = Math.round(semis / 12);
      if (!pad.octaves || !pad.octaves[octave]) octave = 0;
      const buffer = octave ? pad.octaves[octave] : pick(pad);
      return { buffer, rate: 2 ** ((semis - 12 * octave) / 12), pad: ((semis % 16) + 16) % 16, name: pad.name };
    }
    const index = (((note - KEYS_KIT_NOTE) % 16) + 16) % 16;
    const pad = panel.pads[index];
    return pad ? { buffer: pick(pad), rate: 1, pad: index, name: pad.name, layer: pad.layers ? layer : 1 } : null;
  }

  function noteOn(note, velocity, key, ev) {
    const chosen = voiceFor(note, velocity);
    if (!chosen || !chosen.buffer) return;
    const at = panel.rec ? keysEventTime(ev) - panel.rec.start : keysEventTime(ev);
    const curve = KEYS_CURVES[setting("curve", "linear")] || KEYS_CURVES.linear;
    const entry = { t: at, note, velocity, key, pad: chosen.pad, name: chosen.name, rate: chosen.rate,
                    gain: curve(velocity), choke: panel.mode === "Kit" ? chokeOf(chosen.pad) : 0,
                    gate: setting("gate", "oneshot") === "gate", buffer: chosen.buffer,
                    once: panel.mode === "Explore" };
    engine.start(chosen.buffer, entry, at);
    const latency = performance.now() - keysEventTime(ev);   // event to start(), in the event's own clock
    panel.held.set(key, entry);
    if (panel.rec) panel.rec.notes.push(entry);
    panel.notes += 1;
    panel.latencies.push(latency);
    if (panel.latencies.length > 200) panel.latencies.shift();
    root.dataset.notes = String(panel.notes);
    root.dataset.latencyMs = latency.toFixed(3);
    root.dataset.lastVelocity = String(velocity);
    root.dataset.lastGain = entry.gain.toFixed(4);
    root.dataset.lastSound = chosen.name;
    root.dataset.lastRate = chosen.rate.toFixed(4);
    root.dataset.lastLayer = String(chosen.layer === undefined ? 1 : chosen.layer);
    root.dataset.voices = String(engine.voices.length);
    // What the eye sees waits for the next frame: nothing but the sound runs while keys come in.
    requestAnimationFrame(() => {
      const el = padEl(chosen.pad);
      el.classList.add("keys-hit");
      setTimeout(() => el.classList.remove("keys-hit"), 90);
      if (panel.mode === "Explore") keysDrawWave(el.querySelector("canvas"), chosen.buffer);
      showLatency();
    });
  }

  function noteOff(key, ev) {
    const entry = panel.held.get(key);
    if (!entry) return;
    panel.held.delete(key);
    const at = panel.rec ? keysEventTime(ev) - panel.rec.start : keysEventTime(ev);
    if (panel.rec && panel.rec.notes.includes(entry)) entry.offAt = at;
    engine.release(key, at);
    root.dataset.voices = String(engine.voices.length);
  }

  function showLatency() {
    const sorted = [...panel.latencies].sort((a, b) => a - b);
    const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0;
    root.dataset.latencyMedianMs = median.toFixed(3);
    const out = engine.outputLatencyMs();
    $("keys-latency").textContent = "Key to sound start: " + median.toFixed(2) + " ms median of " + sorted.length
      + (out ? " · then the audio output: " + out.base.toFixed(1) + " + " + out.output.toFixed(1) + " ms" : "");
  }

  // ------------------------------------------------------------------ computer keyboard
  const typing = (t) => t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  function keyNote(code) {
    const pad = KEYS_PAD_CODES.indexOf(code);
    if (pad >= 0) return padNote(pad);
    const semis = KEYS_CHROMATIC.indexOf(code);
    return semis >= 0 ? (panel.mode === "Kit" ? KEYS_KIT_NOTE + semis : rootNote() + semis) : null;
  }
  document.addEventListener("keydown", (ev) => {
    if (!panel.armed || ev.repeat || ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    const note = keyNote(ev.code);
    if (note === null) return;
    ev.preventDefault();
    noteOn(note, 100, ev.code, ev);
  });
  document.addEventListener("keyup", (ev) => { if (panel.held.has(ev.code)) noteOff(ev.code, ev); });
  const arm = $("keys-arm");
  arm.addEventListener("click", () => {
    panel.armed = !panel.armed;
    engine.audio();
    arm.setAttribute("aria-pressed", String(panel.armed));
    arm.textContent = panel.armed ? "Keyboard armed (click to stop)" : "Arm the computer keyboard";
  });

  // ------------------------------------------------------------------ MIDI
  let applyTimer = null;
  const midi = new KeysMidi($("midi-status"),
    (note, velocity, on, ev) => (on ? noteOn(note, velocity, "midi" + note, ev) : noteOff("midi" + note, ev)),
    (cc, value) => {
      if (panel.learning && panel.learning.slider) {
        panel.settings.mappings = Object.assign({}, panel.settings.mappings, { [cc]: panel.learning.slider });
        panel.learning = null;
        $("midi-learn-btn").textContent = "MIDI learn";
        save();
        showMappings();
      }
      const slider = (panel.settings.mappings || {})[cc];
      if (slider && keysMoveSlider(slider, value / 127)) {
        clearTimeout(applyTimer);   // the pads that follow the sliders are made again once the knob rests
        applyTimer = setTimeout(() => trigger("apply", {}), 500);
      }
    });
  midi.connect();
  $("midi-learn-btn").addEventListener("click", () => {
    panel.learning = panel.learning ? null : { slider: null };
    $("midi-learn-btn").textContent = panel.learning ? "Touch a slider, then turn a knob…" : "MIDI learn";
  });
  document.addEventListener("pointerdown", (ev) => {
    const block = ev.target.closest && ev.target.closest("#axes .sda-axis");
    if (panel.learning && block) panel.learning.slider = block.id;
  }, true);
  function showMappings() {
    const maps = Object.entries(panel.settings.mappings || {});
    $("midi-map").textContent = maps.length ? maps.map(([cc, id]) => "CC " + cc + " → " + keysSliderName(id)).join(" · ") : "";
  }

  // ------------------------------------------------------------------ drops: a file or a history row
  // History rows become draggable onto pads: each cell of the table carries its row number.
  const historyCell = (node) => node && node.closest && node.closest('#history [data-testid^="cell-"]');
  document.addEventListener("pointerover", (ev) => {
    const cell = historyCell(ev.target);
    if (cell && !cell.draggable) cell.draggable = true;
  }, true);
  document.addEventListener("dragstart", (ev) => {
    const cell = historyCell(ev.target);
    const match = cell && /^cell-(\d+)-/.exec(cell.dataset.testid);
    if (match) ev.dataTransfer.setData("application/x-sda-history-row", match[1]);
  }, true);   // before the table's own handlers, which may stop the event
  async function dropOn(pad, ev) {
    const row = ev.dataTransfer.getData("application/x-sda-history-row");
    if (row !== "") { trigger("select", { pad, row: Number(row) }); return; }
    const file = ev.dataTransfer.files && ev.dataTransfer.files[0];
    if (!file) return;
    const sent = await upload(file);
    trigger("select", { pad, path: sent.path, name: file.name });
  }

  // ------------------------------------------------------------------ Explore
  function askExplore(fresh) {
    const waiting = panel.exploreAsked && performance.now() - panel.exploreAsked < 25000;
    if (panel.mode !== "Explore" || waiting || (!fresh && panel.explore.length >= 12)) return;
    panel.exploreAsked = performance.now();
    trigger("expand", { count: 16, fresh: !!fresh });
  }

  // ------------------------------------------------------------------ record
  const recordBtn = $("keys-record-btn");
  recordBtn.addEventListener("click", async () => {
    if (!panel.rec) {
      panel.rec = { start: performance.now(), notes: [] };
      root.dataset.recordStart = String(panel.rec.start);
      recordBtn.textContent = "■ Stop and keep";
      recordBtn.classList.add("keys-recording-on");
      return;
    }
    const rec = panel.rec;
    panel.rec = null;
    recordBtn.textContent = "● Record";
    recordBtn.classList.remove("keys-recording-on");
    if (!rec.notes.length) { $("keys-latency").textContent = "Nothing was played while recording."; return; }
    const rendered = await keysRender(rec.notes, engine.level);
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const wav = await upload(new File([keysWav(rendered)], "performance-" + stamp + ".wav", { type: "audio/wav" }));
    const mid = await upload(new File([keysMidiFile(rec.notes)], "performance-" + stamp + ".mid", { type: "audio/midi" }));
    const log = rec.notes.map((n) => ({ t: Math.round(n.t * 10) / 10, note: n.note, velocity: n.velocity,
                                        pad: n.pad, sound: n.name, off: n.offAt }));
    trigger("upload", { wav: wav.path, midi: mid.path, log, mode: panel.mode, seconds: rendered.duration });
  });

  // ------------------------------------------------------------------ what the server hands over
  async function loadPad(files, pad) {
    const url = (i) => files[i] && (files[i].url || files[i].path);
    const main = await engine.fetchBuffer(url(pad.src));
    const out = { name: pad.name, buffers: [main, main, main], layers: false, octaves: null };
    if (pad.layers) {
      out.buffers = await Promise.all([0, 1, 2].map((k) => engine.fetchBuffer(url(pad.layers[k]))));
      out.layers = true;
    }
    if (pad.octaves) {
      out.octaves = {};
      for (const [k, i] of Object.entries(pad.octaves)) out.octaves[k] = await engine.fetchBuffer(url(i));
    }
    return out;
  }
  window.sdaKeys = {
    // New pads: the old ones keep playing until every new sound is decoded.
    async load(files, text) {
      const data = typeof text === "string" && text ? JSON.parse(text) : (text || {});
      files = [].concat(files || []);
      const pads = await Promise.all((data.pads || []).map((p) => loadPad(files, p).catch(() => null)));
      panel.pads = pads;
      panel.mode = data.mode || "Kit";
      panel.model = data.model || "";
      panel.settings = data.settings || {};
      const all = pads.filter(Boolean).flatMap((p) => [...p.buffers, ...Object.values(p.octaves || {})]);
      if (all.length) engine.setLevelFrom(all);
      engine.unprepare(new Set(all));
      all.forEach((b) => engine.prepare(b));
      root.dataset.mode = panel.mode;
      root.dataset.pads = String(pads.filter(Boolean).length);
      root.dataset.loads = String(Number(root.dataset.loads || 0) + 1);
      showSettings();
      showPads();
      if (panel.mode === "Explore") { panel.explore = []; panel.exploreAsked = 0; askExplore(true); }
    },
    // Explore: sounds never heard, queued for the next notes.
    async explore(files) {
      panel.exploreAsked = 0;
      const fresh = await Promise.all([].concat(files || []).map((f) =>
        engine.fetchBuffer(f.url || f.path).then((buffer) => {
          engine.buffers.delete(f.url || f.path);   // played once: not kept in the cache
          return { buffer, name: f.orig_name || "new sound" };
        }, () => null)));
      const got = fresh.filter(Boolean);
      panel.explore.push(...got);
      got.forEach((g) => engine.prepare(g.buffer));
      if (got.length && engine.level === 1) engine.setLevelFrom(got.map((g) => g.buffer));
      root.dataset.exploreQueued = String(panel.explore.length);
      askExplore();
    },
  };
}
