// Keys panel, part 1 of 4: the sound engine (Web Audio).
//
// Sounds come decoded once into AudioBuffers (fetchBuffer caches them by URL). A note
// starts an AudioBufferSourceNode at once, through its own gain (the velocity's level,
// ramped in over 2 ms so that no start clicks). Voices end on their own (one-shot), on
// key release (gate, with a short release ramp), when a pad of their choke group starts,
// or when a 33rd voice steals the oldest; every stop is a short ramp, never a cut.
// Each note's entry in `log` says when it started and how it ended, so that a recording
// renders again exactly (record.js) with the same rules.

const KEYS_VOICES = 32;
const KEYS_ATTACK = 0.002;   // seconds of fade-in at each start
const KEYS_CUT = 0.005;      // seconds of fade-out when a voice is choked or stolen
const KEYS_RELEASE = 0.06;   // seconds of fade-out on key release in gate mode

// Velocity (1..127) to level (0..1), by curve.
const KEYS_CURVES = {
  linear: (v) => v / 127,
  soft: (v) => Math.sqrt(v / 127),     // quiet notes louder: easier on a light touch
  hard: (v) => (v / 127) ** 2,         // more range for a heavy touch
  fixed: () => 1,                      // every note at full level
};

class KeysEngine {
  constructor() {
    this.ctx = null;
    this.master = null;
    this.buffers = new Map();   // url -> Promise<AudioBuffer>
    this.voices = [];           // playing voices, oldest first
    this.level = 1;             // one gain for every pad of the panel (the loudest pad at -1 dBFS)
    this.ready = new Map();     // buffer -> a source and gain already made and connected, silent, not started
  }

  // Make the next voice of `buffer` ahead of time: making and connecting nodes waits for the audio
  // thread's graph lock, which on a busy machine takes milliseconds; starting a ready one does not.
  prepare(buffer) {
    if (!buffer || this.ready.has(buffer)) return;
    const ctx = this.audio();
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    const gain = ctx.createGain();
    gain.gain.value = 0;
    source.connect(gain).connect(this.master);
    this.ready.set(buffer, { source, gain });
  }

  // Forget ready voices of buffers no longer played (new pads came).
  unprepare(keep) {
    for (const [buffer, voice] of this.ready) {
      if (!keep.has(buffer)) { voice.gain.disconnect(); this.ready.delete(buffer); }
    }
  }

  // The AudioContext, made (or woken) on first use; a page gesture may be needed for it to run.
  audio() {
    if (!this.ctx) {
      this.ctx = new AudioContext({ latencyHint: "interactive" });
      this.master = this.ctx.createGain();
      this.master.connect(this.ctx.destination);
    }
    if (this.ctx.state === "suspended") this.ctx.resume();
    return this.ctx;
  }

  fetchBuffer(url) {
    if (!this.buffers.has(url)) {
      const ctx = this.audio();
      const loading = fetch(url).then((r) => {
        if (!r.ok) throw new Error("could not fetch a sound (" + r.status + ")");
        return r.arrayBuffer();
      }).then((data) => ctx.decodeAudioData(data));
      loading.catch(() => this.buffers.delete(url));
      this.buffers.set(url, loading);
    }
    return this.buffers.get(url);
  }

  // One gain for all: the loudest of `buffers` reaches 0.9 (the differences between pads stay).
  setLevelFrom(buffers) {
    let peak = 0;
    for (const b of buffers) peak = Math.max(peak, keysPeak(b));
    this.level = peak > 0 ? Math.min(0.9 / peak, 1000) : 1;
  }

  // Start `buffer` now; `note` is the log entry of this note (start time already set by the caller).
  start(buffer, note, eventTime) {
    const ctx = this.audio();
    const now = ctx.currentTime;
    if (note.choke) {
      for (const v of this.voices) if (v.note.choke === note.choke && v.note.pad !== note.pad) this.stop(v, KEYS_CUT, eventTime);
    }
    while (this.voices.length >= KEYS_VOICES) this.stop(this.voices[0], KEYS_CUT, eventTime);
    if (!this.ready.has(buffer)) this.prepare(buffer);
    const { source, gain } = this.ready.get(buffer);
    this.ready.delete(buffer);
    if (note.rate !== 1) source.playbackRate.value = note.rate;
    gain.gain.setValueAtTime(0, now);
    gain.gain.linearRampToValueAtTime(note.gain * this.level, now + KEYS_ATTACK);
    source.start();
    if (!note.once) setTimeout(() => this.prepare(buffer), 0);   // the next note of this sound, made now
    const voice = { source, gain, note };
    this.voices.push(voice);
    source.onended = () => { this.voices = this.voices.filter((v) => v !== voice); gain.disconnect(); };
    return voice;
  }

  // Fade `voice` out over `ramp` seconds; its log entry keeps when (event time, ms) and how fast.
  stop(voice, ramp, eventTime) {
    if (!this.voices.includes(voice)) return;
    this.voices = this.voices.filter((v) => v !== voice);
    const now = this.ctx.currentTime;
    const g = voice.gain.gain;
    g.cancelScheduledValues(now);
    g.setValueAtTime(g.value, now);
    g.linearRampToValueAtTime(0, now + ramp);
    try { voice.source.stop(now + ramp + 0.001); } catch (e) { /* ended already */ }
    if (voice.note.stopAt === undefined) { voice.note.stopAt = eventTime; voice.note.ramp = ramp; }
  }

  // Gate mode: a key went up, its voices fade out.
  release(key, eventTime) {
    for (const v of [...this.voices]) if (v.note.key === key && v.note.gate) this.stop(v, KEYS_RELEASE, eventTime);
  }

  // What the listener hears after a start: the context's own latency and the output's, in ms.
  outputLatencyMs() {
    if (!this.ctx) return null;
    return { base: (this.ctx.baseLatency || 0) * 1000, output: (this.ctx.outputLatency || 0) * 1000 };
  }
}

function keysPeak(buffer) {
  let peak = 0;
  for (let c = 0; c < buffer.numberOfChannels; c++) {
    const data = buffer.getChannelData(c);
    for (let i = 0; i < data.length; i++) { const a = Math.abs(data[i]); if (a > peak) peak = a; }
  }
  return peak;
}

// A small waveform of `buffer` on `canvas` (peak per column).
function keysDrawWave(canvas, buffer) {
  const g = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  if (!buffer) return;
  const data = buffer.getChannelData(0);
  const peak = keysPeak(buffer) || 1;
  const step = Math.max(1, Math.floor(data.length / w));
  g.fillStyle = getComputedStyle(canvas).color || "#888";
  for (let x = 0; x < w; x++) {
    let m = 0;
    for (let i = x * step; i < Math.min(data.length, (x + 1) * step); i++) m = Math.max(m, Math.abs(data[i]));
    const bar = Math.max(1, (m / peak) * (h - 2));
    g.fillRect(x, (h - bar) / 2, 1, bar);
  }
}
