// Keys panel, part 2 of 4: MIDI input (Web MIDI).
//
// Every input plays: note on/off with velocity, on any channel; devices plugged in
// later are listed and played too. Where MIDI cannot be had, the status line says why
// in one sentence. MIDI learn: press the learn button, touch a slider of the Play
// page, turn a knob: that knob (its CC number) moves that slider from then on, the way
// a hand would (the slider's own input and change events, so Gradio sees the value).

class KeysMidi {
  constructor(status, onNote, onControl) {
    this.status = status;          // the #midi-status element
    this.onNote = onNote;          // (note, velocity, isOn, event)
    this.onControl = onControl;    // (cc, value, event)
    this.access = null;
  }

  // Why MIDI is not here, or null when it may be.
  static unavailable() {
    if (!("requestMIDIAccess" in navigator)) {
      return "MIDI: not supported by this browser (pads and the computer keyboard still play; Chrome or Edge have it).";
    }
    const framed = window.self !== window.top;
    const policy = document.permissionsPolicy || document.featurePolicy;
    if (framed && policy && policy.allowsFeature && !policy.allowsFeature("midi")) {
      return "MIDI: this page is inside an embedding frame without allow=\"midi\"; open the app at its own address to use MIDI.";
    }
    return null;
  }

  async connect() {
    const why = KeysMidi.unavailable();
    if (why) { this.say(why); return; }
    try {
      this.access = await navigator.requestMIDIAccess({ sysex: false });
    } catch (err) {
      const denied = err && (err.name === "SecurityError" || err.name === "NotAllowedError");
      const framed = window.self !== window.top;
      this.say(denied && framed ? "MIDI: this page is inside an embedding frame that does not allow MIDI; "
                                  + "open the app at its own address to use MIDI."
        : denied ? "MIDI: no permission (allow MIDI for this site in the browser's settings, then reload)."
        : "MIDI: not available here (" + ((err && err.message) || err) + ").");
      return;
    }
    this.access.onstatechange = () => this.attach();
    this.attach();
  }

  // Listen to every input (again after a device comes or goes) and list them by name.
  attach() {
    const names = [];
    for (const input of this.access.inputs.values()) {
      if (input.state === "disconnected") continue;
      input.onmidimessage = (event) => this.message(event);
      names.push(input.name || input.id);
    }
    this.say(names.length ? "MIDI: " + names.join(", ") : "MIDI: no device connected (plug one in; it shows here).");
  }

  message(event) {
    const [status, a, b] = event.data;
    const kind = status & 0xf0;
    if (kind === 0x90 && b > 0) this.onNote(a, b, true, event);
    else if (kind === 0x80 || (kind === 0x90 && b === 0)) this.onNote(a, 0, false, event);
    else if (kind === 0xb0) this.onControl(a, b, event);
  }

  say(text) { if (this.status) this.status.textContent = text; }
}

// The Play page's axis sliders (the range inputs under #axes), by element id.
function keysSliders() {
  const out = {};
  document.querySelectorAll("#axes .sda-axis").forEach((block) => {
    const range = block.querySelector("input[type=range]");
    if (range && block.id && block.offsetParent !== null) out[block.id] = range;
  });
  return out;
}

// Move slider `id` to `fraction` (0..1) of its track, as a hand would.
function keysMoveSlider(id, fraction) {
  const range = keysSliders()[id];
  if (!range) return false;
  const min = Number(range.min), max = Number(range.max), step = Number(range.step) || 0;
  let value = min + fraction * (max - min);
  if (step > 0) value = min + Math.round((value - min) / step) * step;
  const text = String(Math.round(value * 1e6) / 1e6);
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
  setter.call(range, text);
  range.dispatchEvent(new Event("input", { bubbles: true }));
  range.dispatchEvent(new Event("change", { bubbles: true }));
  return true;
}

// The label a user reads for slider `id` (its axis name), for the mapping list.
function keysSliderName(id) {
  const block = document.getElementById(id);
  const label = block && block.querySelector("label, [data-testid=block-info]");
  return (label && label.textContent.trim().split("\n")[0]) || id;
}
