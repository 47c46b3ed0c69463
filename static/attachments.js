// Attachments in the card drawer: files dropped anywhere on the drawer or pasted (a
// screenshot) go to the drawer's upload form, which htmx sends as multipart/form-data; a
// progress bar follows the upload; choosing files sends them at once. No inline script or
// style (the CSP forbids both): everything is wired here by event delegation.
(function () {
  "use strict";

  function uploadForm() {
    var drawer = document.getElementById("drawer");
    return drawer && drawer.querySelector("form.attachment-form");
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // A pasted screenshot arrives as "image.png": give it a name that says what and when.
  function named(file) {
    if (file.name && file.name !== "image.png" && file.name !== "image.jpeg") { return file; }
    var now = new Date();
    var stamp = now.getFullYear() + pad(now.getMonth() + 1) + pad(now.getDate()) + "-" +
      pad(now.getHours()) + pad(now.getMinutes()) + pad(now.getSeconds());
    var ext = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
    var label = document.documentElement.lang === "en" ? "screenshot" : "截图";
    try {
      return new File([file], label + "-" + stamp + "." + ext, { type: file.type });
    } catch (error) {
      return file;
    }
  }

  function send(files) {
    var form = uploadForm();
    if (!form || !files || !files.length) { return false; }
    var input = form.querySelector('input[type="file"]');
    var transfer = new DataTransfer();
    Array.prototype.forEach.call(files, function (file) { transfer.items.add(named(file)); });
    input.files = transfer.files;
    if (form.requestSubmit) { form.requestSubmit(); } else { htmx.trigger(form, "submit"); }
    return true;
  }

  // Choosing files sends them (the button stays for keyboards and old browsers).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches('form.attachment-form input[type="file"]') && input.files.length) {
      if (input.form.requestSubmit) { input.form.requestSubmit(); } else { htmx.trigger(input.form, "submit"); }
    }
  });

  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  document.addEventListener("dragover", function (event) {
    var drawer = event.target.closest && event.target.closest("#drawer");
    if (!drawer || !hasFiles(event) || !uploadForm()) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    drawer.classList.add("dropping");
  });
  document.addEventListener("dragleave", function (event) {
    var drawer = event.target.closest && event.target.closest("#drawer");
    if (drawer && !drawer.contains(event.relatedTarget)) { drawer.classList.remove("dropping"); }
  });
  document.addEventListener("drop", function (event) {
    var drawer = event.target.closest && event.target.closest("#drawer");
    if (!drawer || !hasFiles(event)) { return; }
    drawer.classList.remove("dropping");
    if (send(event.dataTransfer.files)) { event.preventDefault(); }
  });

  function editable(target) {
    return !!target && !!target.closest && !!target.closest('input, textarea, select, [contenteditable]:not([contenteditable="false"])');
  }

  // A pasted screenshot (or copied files) while a drawer is open. Text pasted into a field
  // stays text: a paste into an input, a textarea or an editable element that carries text
  // (a spreadsheet's cells or a web page copy carry an image of themselves too) is left to
  // the field; only a paste carrying files and no text there is taken.
  document.addEventListener("paste", function (event) {
    var data = event.clipboardData;
    if (!data || !uploadForm()) { return; }
    if (editable(event.target) && Array.prototype.indexOf.call(data.types || [], "text/plain") !== -1) { return; }
    var files = [];
    Array.prototype.forEach.call(data.items || [], function (item) {
      if (item.kind === "file") {
        var file = item.getAsFile();
        if (file) { files.push(file); }
      }
    });
    if (!files.length && data.files && data.files.length) { files = Array.prototype.slice.call(data.files); }
    if (files.length && send(files)) { event.preventDefault(); }
  });

  // "Attach a file to this note" (a reply, a step): the upload form, pointed at that note,
  // opens the file chooser; what is chosen goes with the form as any choice does.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-attach-to]");
    var form = button && uploadForm();
    if (!form) { return; }
    var select = form.querySelector('select[name="target"]');
    var input = form.querySelector('input[type="file"]');
    if (select) {
      select.value = button.getAttribute("data-attach-to");
      // Cancelled: later drops and pastes go to the card again, not silently to this note.
      input.addEventListener("cancel", function () { select.value = ""; }, { once: true });
    }
    form.scrollIntoView({ block: "nearest" });
    input.click();
  });

  // The upload's progress (htmx relays the XMLHttpRequest's upload progress).
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("form.attachment-form");
    var bar = form && form.querySelector("progress.upload-progress");
    if (!bar || !event.detail.lengthComputable) { return; }
    bar.hidden = false;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });
  // An upload or removal changes no field of the card, but moves its version on: the drawer's
  // own forms, if they were current, are current still (so that saving the card afterwards is
  // not refused as stale). Forms that were already behind stay behind.
  document.addEventListener("htmx:afterSwap", function (event) {
    var section = event.detail.target;
    if (!section || !section.matches || !section.matches("#drawer section.attachments")) { return; }
    var heading = section.querySelector("[data-version-before]");
    if (!heading) { return; }
    var before = heading.getAttribute("data-version-before");
    var after = String(parseInt(before, 10) + 1); // this write's own version, not a later one
    document.querySelectorAll('#drawer input[name="version"]').forEach(function (input) {
      if (input.value === before) { input.value = after; }
    });
  });

  // Answers htmx does not swap: a body past the server's limit (413) or no answer at all.
  function failed(event, tooLarge) {
    var form = event.target.closest && event.target.closest("form.attachment-form");
    if (!form) { return; }
    var bar = form.querySelector("progress.upload-progress");
    var message = form.querySelector(".upload-error");
    if (bar) { bar.hidden = true; }
    form.removeAttribute("aria-busy");
    if (message) {
      message.textContent = tooLarge ? form.dataset.tooLarge : form.dataset.failed;
      message.hidden = false;
    }
  }
  document.addEventListener("htmx:responseError", function (event) {
    failed(event, event.detail.xhr && event.detail.xhr.status === 413);
  });
  document.addEventListener("htmx:sendError", function (event) { failed(event, false); });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.target.closest && event.target.closest("form.attachment-form");
    var bar = form && form.querySelector("progress.upload-progress");
    if (bar) { bar.hidden = false; bar.value = 0; form.setAttribute("aria-busy", "true"); }
  });
})();
