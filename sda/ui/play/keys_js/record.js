// Keys panel, part 3 of 4: recording a performance.
//
// While recording, every note's log entry (time from the record button, pad, MIDI
// note, velocity, level, rate, how it ended) is kept. On stop the performance is
// rendered from that log alone in an OfflineAudioContext with the engine's rules (the
// same ramps, the same stops), never captured from the speakers, and written as a WAV
// (32-bit float, 48 kHz) and as a standard MIDI file (format 0, 960 ticks a second).

const KEYS_RENDER_RATE = 48000;

async function keysRender(notes, level) {
  const ends = notes.map((n) => n.stopAt !== undefined ? n.stopAt / 1000 + n.ramp
                                                       : n.t / 1000 + n.buffer.duration / n.rate);
  const seconds = Math.max(0.1, ...ends) + 0.05;
  const ctx = new OfflineAudioContext(1, Math.ceil(seconds * KEYS_RENDER_RATE), KEYS_RENDER_RATE);
  for (const n of notes) {
    const at = n.t / 1000;
    const source = ctx.createBufferSource();
    source.buffer = n.buffer;
    source.playbackRate.value = n.rate;
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(n.gain * level, at + KEYS_ATTACK);
    if (n.stopAt !== undefined) {
      const stop = Math.max(at + KEYS_ATTACK, n.stopAt / 1000);
      gain.gain.setValueAtTime(n.gain * level, stop);
      gain.gain.linearRampToValueAtTime(0, stop + n.ramp);
      source.stop(stop + n.ramp + 0.001);
    }
    source.connect(gain).connect(ctx.destination);
    source.start(at);
  }
  return ctx.startRendering();
}

// A mono AudioBuffer as a WAV file (IEEE float, with the fact chunk such files carry).
function keysWav(buffer) {
  const data = buffer.getChannelData(0);
  const bytes = new ArrayBuffer(58 + data.length * 4);
  const v = new DataView(bytes);
  const text = (at, s) => { for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i)); };
  text(0, "RIFF"); v.setUint32(4, 50 + data.length * 4, true); text(8, "WAVE");
  text(12, "fmt "); v.setUint32(16, 18, true); v.setUint16(20, 3, true); v.setUint16(22, 1, true);
  v.setUint32(24, buffer.sampleRate, true); v.setUint32(28, buffer.sampleRate * 4, true);
  v.setUint16(32, 4, true); v.setUint16(34, 32, true); v.setUint16(36, 0, true);
  text(38, "fact"); v.setUint32(42, 4, true); v.setUint32(46, data.length, true);
  text(50, "data"); v.setUint32(54, data.length * 4, true);
  for (let i = 0; i < data.length; i++) v.setFloat32(58 + i * 4, data[i], true);
  return new Blob([bytes], { type: "audio/wav" });
}

// The notes as a standard MIDI file: format 0, 480 ticks a quarter note at 120 bpm (960 a second).
function keysMidiFile(notes) {
  const events = [];
  for (const n of notes) {
    const off = n.offAt !== undefined ? n.offAt : n.t + 1000 * n.buffer.duration / n.rate;
    events.push([Math.round(n.t * 0.96), 0x90, n.note, n.velocity]);
    events.push([Math.round(Math.max(off, n.t + 1) * 0.96), 0x80, n.note, 0]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);   // at one tick, offs (0x80) before ons
  const track = [0x00, 0xff, 0x51, 0x03, 0x07, 0xa1, 0x20];   // tempo: 500000 us a quarter note
  let last = 0;
  for (const [tick, status, note, velocity] of events) {
    track.push(...keysVarLen(tick - last), status, note & 0x7f, velocity & 0x7f);
    last = tick;
  }
  track.push(0x00, 0xff, 0x2f, 0x00);
  const head = [0x4d, 0x54, 0x68, 0x64, 0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xe0];
  const size = track.length;
  const chunk = [0x4d, 0x54, 0x72, 0x6b, (size >>> 24) & 255, (size >>> 16) & 255, (size >>> 8) & 255, size & 255];
  return new Blob([new Uint8Array([...head, ...chunk, ...track])], { type: "audio/midi" });
}

function keysVarLen(value) {
  const out = [value & 0x7f];
  while ((value >>= 7) > 0) out.unshift((value & 0x7f) | 0x80);
  return out;
}
