/* Order page: follow the order's status JSON until every shopper step is final.
 *
 * Reads #order-steps[data-status-url]; does nothing when data-final="true".
 * Polls every second for the first minute, then backs off to every 30 s
 * (a step that takes that long is waiting on a retry), and stops once the
 * server says every step is final. Each request sends the last ETag in
 * If-None-Match, so an unchanged status costs a 304 with no body. Failed
 * requests back off too. Without JavaScript the page shows the state at
 * render time and a "Refresh" link.
 */
(function () {
  "use strict";

  /* "Pay with another card": one submission per click (the server refuses a
   * second charge anyway, under the payment's row lock). */
  var payAgain = document.querySelector("#pay-again form");
  if (payAgain) {
    payAgain.addEventListener("submit", function () {
      var button = payAgain.querySelector("button[type=submit]");
      window.setTimeout(function () {
        if (button) {
          button.disabled = true;
        }
      }, 0);
    });
  }

  var FAST_DELAY = 1000; // while the order is fresh
  var FAST_FOR = 60000; // ... for this long after the page opened
  var SLOW_DELAY = 30000; // the longest wait between two requests
  var BACKOFF = 1.5;
  var REQUEST_TIMEOUT = 10000;

  var list = document.getElementById("order-steps");
  if (!list || !window.fetch) {
    return;
  }
  var url = list.getAttribute("data-status-url");
  if (!url || list.getAttribute("data-final") === "true") {
    return;
  }

  var startedAt = Date.now();
  var delay = FAST_DELAY;
  var etag = null;
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

  function setHidden(element, hidden) {
    if (element && element.hidden !== hidden) {
      element.hidden = hidden;
    }
  }

  function updateInvoiceLink(item, stepUrl) {
    var holder = item.querySelector(".step-link");
    if (!holder) {
      return;
    }
    var link = holder.querySelector("a");
    if (stepUrl) {
      if (!link) {
        link = document.createElement("a");
        link.textContent = "Download the invoice (PDF)";
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
    var item = list.querySelector('[data-step="' + step.name.replace(/[^a-z_-]/g, "") + '"]');
    if (!item) {
      return;
    }
    setAttr(item, "data-state", String(step.state || "pending"));
    setText(item.querySelector(".step-state"), String(step.state_label || step.state || ""));
    if (step.label) {
      setText(item.querySelector(".step-label"), String(step.label));
    }
    setText(item.querySelector(".step-detail"), String(step.detail || ""));
    if (step.name === "invoice") {
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
    var notice = document.getElementById("order-notice");
    if (notice) {
      setText(notice.querySelector(".notice-title"), String(data.headline || ""));
      setText(notice.querySelector(".notice-body"), String(data.explanation || ""));
      setAttr(notice, "data-tone", String(data.tone || "info"));
    }
    setHidden(document.getElementById("pay-again"), !(data.pay_again && data.pay_again.allowed));
    if (data.pay_again && data.pay_again.until_display) {
      setText(document.getElementById("pay-again-until"), String(data.pay_again.until_display));
    }
    if (Array.isArray(data.steps)) {
      data.steps.forEach(updateStep);
    }
    if (data.final === true) {
      setAttr(list, "data-final", "true");
      setHidden(document.getElementById("order-steps-refresh"), true);
    }
  }

  function schedule(ms) {
    if (timer !== null) {
      window.clearTimeout(timer);
    }
    timer = window.setTimeout(poll, ms);
  }

  function nextDelay() {
    if (Date.now() - startedAt < FAST_FOR) {
      return FAST_DELAY;
    }
    delay = Math.min(Math.max(delay, FAST_DELAY) * BACKOFF, SLOW_DELAY);
    return delay;
  }

  function onFailure() {
    delay = Math.min(Math.max(delay, FAST_DELAY) * 2, SLOW_DELAY);
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
    var headers = { Accept: "application/json" };
    if (etag) {
      headers["If-None-Match"] = etag;
    }
    var options = { credentials: "same-origin", headers: headers, cache: "no-store" };
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
        if (response.status === 304) {
          return undefined; /* nothing changed */
        }
        if (response.status === 403 || response.status === 404) {
          return null; /* the order is not (or no longer) visible to this session: stop */
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        etag = response.headers.get("ETag") || null;
        return response.json();
      })
      .then(function (data) {
        if (abortTimer !== null) {
          window.clearTimeout(abortTimer);
        }
        if (data === null) {
          return;
        }
        if (data !== undefined) {
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
        }
        schedule(nextDelay());
      })
      .catch(function () {
        if (abortTimer !== null) {
          window.clearTimeout(abortTimer);
        }
        onFailure();
      });
  }

  schedule(FAST_DELAY);
})();
