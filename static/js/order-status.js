/* Order page: poll the order's status JSON until every background step is final.
 *
 * Reads #order-steps[data-status-url]; does nothing when data-final="true".
 * Polls every second, backs off up to 5 s after a failed request, and never
 * throws. Without JavaScript the page shows the state at render time and a
 * "Refresh" link.
 */
(function () {
  "use strict";

  var BASE_DELAY = 1000;
  var MAX_DELAY = 5000;
  var REQUEST_TIMEOUT = 10000;

  var list = document.getElementById("order-steps");
  if (!list || !window.fetch) {
    return;
  }
  var url = list.getAttribute("data-status-url");
  if (!url || list.getAttribute("data-final") === "true") {
    return;
  }

  var delay = BASE_DELAY;
  var timer = null;

  function setText(element, text) {
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function setAttr(element, name, value) {
    if (element && element.getAttribute(name) !== value) {
      element.setAttribute(name, value);
    }
  }

  function updateInvoiceLink(item, stepUrl) {
    var holder = item.querySelector(".step-link");
    if (!holder) {
      holder = document.createElement("p");
      holder.className = "step-link";
      var body = item.querySelector(".step-body") || item;
      body.appendChild(holder);
    }
    var link = holder.querySelector("a");
    if (stepUrl) {
      if (!link) {
        link = document.createElement("a");
        link.textContent = "Download invoice (PDF)";
        holder.appendChild(link);
      }
      setAttr(link, "href", stepUrl);
    } else if (link) {
      holder.removeChild(link);
    }
  }

  function updateStep(step) {
    if (!step || typeof step.name !== "string") {
      return;
    }
    var item = null;
    var items = list.querySelectorAll("[data-step]");
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute("data-step") === step.name) {
        item = items[i];
        break;
      }
    }
    if (!item) {
      return;
    }
    var state = String(step.state || "pending");
    setAttr(item, "data-state", state);
    setText(item.querySelector(".step-state"), state);
    if (step.label) {
      setText(item.querySelector(".step-label"), String(step.label));
    }
    setText(item.querySelector(".step-detail"), String(step.detail || ""));
    if (step.name === "invoice" || step.url) {
      updateInvoiceLink(item, step.url || null);
    }
  }

  function updateOrder(data) {
    var status = document.getElementById("order-status");
    if (status && data.status_display) {
      setText(status, String(data.status_display));
      if (data.status) {
        status.className = "status status--" + String(data.status);
      }
    }

    var cancelled = data.status === "cancelled";
    var notice = document.getElementById("order-cancelled");
    if (notice) {
      if (cancelled) {
        setText(
          document.getElementById("order-cancel-reason"),
          String(data.cancel_reason || "Nothing was charged.")
        );
      }
      if (notice.hidden === cancelled) {
        notice.hidden = !cancelled;
      }
    }
    var pendingNote = document.getElementById("order-pending-note");
    if (pendingNote && data.status && data.status !== "pending_payment") {
      pendingNote.hidden = true;
    }

    if (Array.isArray(data.steps)) {
      data.steps.forEach(updateStep);
    }

    if (data.final === true) {
      setAttr(list, "data-final", "true");
      var refresh = document.getElementById("order-steps-refresh");
      if (refresh) {
        refresh.hidden = true;
      }
    }
  }

  function schedule(ms) {
    if (timer !== null) {
      window.clearTimeout(timer);
    }
    timer = window.setTimeout(poll, ms);
  }

  function onFailure() {
    delay = Math.min(delay * 2, MAX_DELAY);
    schedule(delay);
  }

  function poll() {
    timer = null;
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var abortTimer = controller
      ? window.setTimeout(function () {
          controller.abort();
        }, REQUEST_TIMEOUT)
      : null;
    var options = {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    };
    if (controller) {
      options.signal = controller.signal;
    }

    var request;
    try {
      request = window.fetch(url, options);
    } catch (error) {
      onFailure();
      return;
    }

    request
      .then(function (response) {
        if (response.status === 403 || response.status === 404) {
          /* The order is not (or no longer) visible to this session: stop. */
          return null;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        if (abortTimer !== null) {
          window.clearTimeout(abortTimer);
        }
        if (data === null) {
          return;
        }
        if (typeof data !== "object") {
          throw new Error("Unexpected response");
        }
        try {
          updateOrder(data);
        } catch (error) {
          /* A page that changed shape must not stop the polling. */
        }
        if (data.final === true) {
          return;
        }
        delay = BASE_DELAY;
        schedule(delay);
      })
      .catch(function () {
        if (abortTimer !== null) {
          window.clearTimeout(abortTimer);
        }
        onFailure();
      });
  }

  schedule(BASE_DELAY);
})();
