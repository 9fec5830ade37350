"""The little JavaScript and CSS the page needs beyond Gradio's components.

Three things Gradio does not do by itself:
- dropping a whole folder onto the upload area (the browser gives a folder
  entry, which must be walked to find its files),
- a preview list that only ever grows: new previews are appended to the
  list in the browser, so a player that is playing is never re-created, and
- dragging a sound out of the page as a file, as from a DAW's sample browser:
  the Play tab's players (the sound made, the history's chosen sound, A and
  B) and the history row last clicked carry Chromium's ``DownloadURL`` drag
  data ("audio/wav:NAME:URL") and the file's address; where a browser ignores
  it, the download links stay.
"""

from __future__ import annotations

from sda.audio.io import AUDIO_EXTENSIONS

_ACCEPTED = sorted(AUDIO_EXTENSIONS | {".zip"})

HEAD = """
<script>
(() => {
  const ACCEPTED = %(accepted)s;
  const accepted = (name) => !name.startsWith(".") && ACCEPTED.some((ext) => name.toLowerCase().endsWith(ext));

  // --- Folder drop: walk dropped folders and hand their files to Gradio's file input.
  async function entryFiles(entry, out) {
    if (entry.isFile) {
      if (accepted(entry.name)) out.push(await new Promise((ok, fail) => entry.file(ok, fail)));
    } else if (entry.isDirectory && !entry.name.startsWith(".") && entry.name !== "__MACOSX") {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const child of batch) await entryFiles(child, out);
      }
    }
  }
  document.addEventListener("drop", (event) => {
    const zone = event.target && event.target.closest && event.target.closest("#dataset-upload");
    if (!zone || !event.dataTransfer) return;
    const entries = [...(event.dataTransfer.items || [])]
      .map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry())
      .filter(Boolean);
    if (!entries.some((entry) => entry.isDirectory)) return; // plain files: Gradio's own drop works
    event.preventDefault();
    event.stopPropagation();
    (async () => {
      const files = [];
      for (const entry of entries) await entryFiles(entry, files);
      const input = zone.querySelector("input[type=file]");
      if (!input || !files.length) return;
      const transfer = new DataTransfer();
      files.forEach((file) => transfer.items.add(file));
      input.files = transfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    })();
  }, true);

  // --- Drag a sound into a DAW or a folder: Chromium fetches a DownloadURL dropped outside the page.
  const DRAGGABLE = "#gen-audio, #history-audio, #ab-a, #ab-b";
  const TYPES = { wav: "audio/wav", flac: "audio/flac", ogg: "audio/ogg", mp3: "audio/mpeg" };
  function soundUrl(box) {
    const audio = box && box.querySelector("audio");
    const src = audio && (audio.getAttribute("src") || audio.currentSrc);
    return src && !src.startsWith("blob:") && !src.startsWith("data:") ? new URL(src, location.href).href : null;
  }
  function markDraggable() {
    document.querySelectorAll(DRAGGABLE).forEach((box) => {
      const ok = !!soundUrl(box);
      if (box.draggable !== ok) box.draggable = ok;
      box.classList.toggle("sda-draggable", ok);
      if (ok && !box.title) box.title = "Drag this sound into your DAW or a folder";
    });
  }
  new MutationObserver(markDraggable).observe(document.documentElement,
    { subtree: true, childList: true, attributes: true, attributeFilter: ["src"] });
  // A history row, once clicked, is the chosen sound: the row drags out as its file too.
  let chosenRow = null;
  const rowOf = (node) => {
    const cell = node && node.closest && node.closest('#history [data-testid^="cell-"]');
    const match = cell && /^cell-(\\d+)-/.exec(cell.dataset.testid);
    return match ? { row: match[1], cell } : null;
  };
  document.addEventListener("click", (event) => {
    const hit = rowOf(event.target);
    if (!hit) return;
    chosenRow = hit.row;
    document.querySelectorAll('#history [data-testid^="cell-"]').forEach((cell) => {
      const mine = cell.dataset.testid.startsWith("cell-" + chosenRow + "-");
      cell.draggable = mine;
      cell.classList.toggle("sda-draggable", mine);
    });
  }, true);
  document.addEventListener("dragstart", (event) => {
    const hit = rowOf(event.target);
    const box = hit ? (hit.row === chosenRow ? document.querySelector("#history-audio") : null)
      : event.target && event.target.closest && event.target.closest(DRAGGABLE);
    const url = soundUrl(box);
    if (!url || !event.dataTransfer) return;
    const name = decodeURIComponent(new URL(url).pathname.split("/").pop() || "sound.wav").replace(/:/g, "_");
    const type = TYPES[name.split(".").pop().toLowerCase()] || "application/octet-stream";
    event.dataTransfer.setData("DownloadURL", type + ":" + name + ":" + url);
    event.dataTransfer.setData("text/uri-list", url);
    event.dataTransfer.setData("text/plain", url);
    event.dataTransfer.effectAllowed = "copy";
  }, true); // before the table's own handlers, which keep the event to themselves

  // --- Previews: newest first, appended once, never auto-playing.
  const LABEL = /^(preview|recon)_epoch(\\d+)_(\\d+)/;
  function describe(name) {
    const match = LABEL.exec(name || "");
    if (!match) return name || "preview";
    const kind = match[1] === "recon" ? "reconstruction of one of your sounds" : "new sound";
    return "Epoch " + Number(match[2]) + " · " + kind + " " + (Number(match[3]) + 1);
  }
  function list(marker) {
    const box = document.querySelector("#previews .sda-preview-list");
    if (box && marker !== undefined && box.dataset.marker !== marker) {
      box.dataset.marker = marker;
      box.querySelectorAll(".sda-preview").forEach((node) => node.remove());
    }
    return box;
  }
  window.sdaPreviews = {
    reset(marker) { list(marker); },
    add(files, marker) {
      const box = list(marker);
      if (!box || !files) return;
      for (const file of [].concat(files)) {
        if (!file || !file.url || box.querySelector('[data-url="' + CSS.escape(file.url) + '"]')) continue;
        const item = document.createElement("div");
        item.className = "sda-preview";
        item.dataset.url = file.url;
        const label = document.createElement("div");
        label.className = "sda-preview-label";
        label.textContent = describe(file.orig_name);
        const audio = document.createElement("audio");
        audio.controls = true;
        audio.preload = "metadata";
        audio.autoplay = false;
        audio.src = file.url;
        const link = document.createElement("a");
        link.href = file.url;
        link.download = file.orig_name || "preview.wav";
        link.textContent = "Download";
        item.append(label, audio, link);
        box.prepend(item);
      }
      const empty = box.querySelector(".sda-preview-empty");
      if (empty) empty.style.display = box.querySelector(".sda-preview") ? "none" : "";
    },
  };
})();
</script>
""" % {"accepted": repr(_ACCEPTED).replace("'", '"')}  # noqa: UP031 (the script's own braces rule out str.format)

PREVIEWS_HTML = (
    '<div class="sda-preview-list" data-marker="">'
    '<p class="sda-preview-empty">Previews appear here while the model trains, newest first.</p>'
    "</div>"
)

# Called by Gradio with the values of [preview_feed, preview_marker].
ADD_PREVIEWS_JS = "(files, marker) => { window.sdaPreviews && window.sdaPreviews.add(files, marker); return []; }"
RESET_PREVIEWS_JS = "(marker) => { window.sdaPreviews && window.sdaPreviews.reset(marker); return []; }"

CSS = """
#previews .sda-preview-list { max-height: 420px; overflow-y: auto; display: flex; flex-direction: column; gap: 8px; }
#previews .sda-preview { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px; }
#previews .sda-preview-label { font-weight: 600; font-size: 0.9em; margin-bottom: 2px; }
#previews .sda-preview audio { width: 100%; height: 36px; }
#previews .sda-preview a { font-size: 0.85em; }
#previews .sda-preview-empty { color: var(--body-text-color-subdued); }
#warnings { border-left: 4px solid #f59e0b; padding-left: 10px; }
#status { font-size: 1.05em; }
.sda-draggable { cursor: grab; }
"""
