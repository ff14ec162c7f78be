/* The weighted length X counts (twitter-text v3), as bot.text.weighted_length counts it on the server.
 *
 * NFC first; a URL counts 23; an emoji (a whole sequence: skin tone, ZWJ family, flag, keycap) counts 2;
 * any other code point counts 1 in 0-4351, 8192-8205, 8208-8223, 8242-8247 and 2 elsewhere.
 * The URL and emoji patterns are twitter-text's own, served by the dashboard at /counter-rules.js from the
 * installed library, so both sides find the same URLs (with or without a scheme) and the same emoji.
 */
(function (root) {
  "use strict";

  var NARROW = [[0, 4351], [8192, 8205], [8208, 8223], [8242, 8247]];
  var URL_WEIGHT = 23;
  var EMOJI_WEIGHT = 2;
  var MAX_TCO_SLUG = 40;

  function codePointWeight(cp) {
    for (var i = 0; i < NARROW.length; i++) {
      if (cp >= NARROW[i][0] && cp <= NARROW[i][1]) return 1;
    }
    return 2;
  }

  function allMatches(pattern, flags, text) {
    var re = new RegExp(pattern, flags);
    var found = [];
    var m;
    while ((m = re.exec(text)) !== null) {
      found.push(m);
      if (m[0].length === 0) re.lastIndex++;
    }
    return found;
  }

  /* [start, end) of every URL, as twitter-text's extract_urls_with_indices finds them. */
  function urlSpans(text, rules) {
    if (text.indexOf(".") < 0) return [];
    var spans = [];
    allMatches(rules.url, "gi", text).forEach(function (m) {
      var before = m[2] || "", url = m[3], protocol = m[4], domain = m[5], path = m[7];
      var end = m.index + m[0].length;
      var start = end - url.length;
      if (!protocol) {
        if (new RegExp(rules.invalidBefore).test(before)) return;
        var last = null;
        allMatches(rules.asciiDomain, "gi", domain).forEach(function (d) {
          last = [start + d.index, start + d.index + d[0].length];
          spans.push(last);
        });
        if (last !== null && path) last[1] = end;
        return;
      }
      var tco = new RegExp(rules.tco, "i").exec(url);
      if (tco) {
        if (tco[1] && tco[1].length > MAX_TCO_SLUG) return;
        end = start + tco[0].length;
      }
      spans.push([start, end]);
    });
    return spans;
  }

  function spanMap(spans) {
    var map = {};
    spans.forEach(function (s) { map[s[0]] = s[1]; });
    return map;
  }

  function weightedLength(text) {
    var rules = root.chatcaddyRules;
    var t = String(text).normalize("NFC").replace(/\r\n|\r/g, "\n");
    var urls = rules ? spanMap(urlSpans(t, rules)) : {};
    var emojis = rules ? spanMap(allMatches(rules.emoji, "gu", t).map(function (m) {
      return [m.index, m.index + m[0].length];
    })) : {};
    var total = 0;
    var i = 0;
    while (i < t.length) {
      if (i in urls) {
        total += URL_WEIGHT;
        i = urls[i];
      } else if (i in emojis) {
        total += EMOJI_WEIGHT;
        i = emojis[i];
      } else {
        var cp = t.codePointAt(i);
        total += codePointWeight(cp);
        i += cp > 0xffff ? 2 : 1;
      }
    }
    return total;
  }

  root.chatcaddyWeightedLength = weightedLength;
})(typeof window !== "undefined" ? window : globalThis);
