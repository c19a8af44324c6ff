package io.mmstream.deploy;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The series selectors of a PromQL expression: each metric name with the label names its matchers use.
 *
 * <p>Written by hand because no Java PromQL parser exists. It tokenises the expression and skips strings,
 * numbers and durations, function and aggregation names, keywords, Grafana variables and the label lists of
 * by/without/on/ignoring/group_left/group_right; every other identifier is a metric name.
 */
final class PromQlSelectors {

    record Selector(String metric, Set<String> labels) {}

    private static final Set<String> AGGREGATIONS = Set.of("sum", "min", "max", "avg", "group", "stddev", "stdvar",
            "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio");
    private static final Set<String> LABEL_LIST_KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left",
            "group_right");
    private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset", "atan2", "inf",
            "nan", "Inf", "NaN");

    private final String expr;
    private int pos;

    private PromQlSelectors(String expr) {
        this.expr = expr;
    }

    static List<Selector> of(String expr) {
        return new PromQlSelectors(expr).parse();
    }

    private List<Selector> parse() {
        List<Selector> selectors = new ArrayList<>();
        while (skipSpace()) {
            char c = expr.charAt(pos);
            if (c == '"' || c == '\'' || c == '`') {
                skipString();
            } else if (c == '$') {
                pos++;
                identifier();
            } else if (Character.isDigit(c) || (c == '.' && pos + 1 < expr.length()
                    && Character.isDigit(expr.charAt(pos + 1)))) {
                skipNumberOrDuration();
            } else if (c == '{') {
                throw new IllegalArgumentException("selector without a metric name at " + pos + " in: " + expr);
            } else if (isIdentifierStart(c)) {
                String name = identifier();
                if (LABEL_LIST_KEYWORDS.contains(name)) {
                    if (skipSpace() && expr.charAt(pos) == '(') {
                        skipParenthesised();
                    }
                } else if (AGGREGATIONS.contains(name) || KEYWORDS.contains(name) || nextIs('(')) {
                    continue;
                } else {
                    selectors.add(new Selector(name, nextIs('{') ? matcherLabels() : Set.of()));
                }
            } else {
                pos++;
            }
        }
        return selectors;
    }

    /** Reads {label op "value", ...} and returns the label names. */
    private Set<String> matcherLabels() {
        Set<String> labels = new LinkedHashSet<>();
        pos++;
        while (skipSpace() && expr.charAt(pos) != '}') {
            char c = expr.charAt(pos);
            if (isIdentifierStart(c)) {
                labels.add(identifier());
            } else if (c == '"' || c == '\'' || c == '`') {
                skipString();
            } else {
                pos++;
            }
        }
        pos++;
        return labels;
    }

    private boolean nextIs(char c) {
        return skipSpace() && expr.charAt(pos) == c;
    }

    private boolean skipSpace() {
        while (pos < expr.length() && Character.isWhitespace(expr.charAt(pos))) {
            pos++;
        }
        return pos < expr.length();
    }

    private void skipString() {
        char quote = expr.charAt(pos++);
        while (pos < expr.length() && expr.charAt(pos) != quote) {
            pos += expr.charAt(pos) == '\\' ? 2 : 1;
        }
        pos++;
    }

    /** Numbers (1e-9, 0.99) and durations (5m, 1h30m). */
    private void skipNumberOrDuration() {
        while (pos < expr.length()) {
            char c = expr.charAt(pos);
            boolean exponentSign = (c == '-' || c == '+') && (expr.charAt(pos - 1) == 'e'
                    || expr.charAt(pos - 1) == 'E');
            if (!Character.isLetterOrDigit(c) && c != '.' && !exponentSign) {
                return;
            }
            pos++;
        }
    }

    private void skipParenthesised() {
        int depth = 0;
        do {
            char c = expr.charAt(pos++);
            depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        } while (depth > 0 && pos < expr.length());
    }

    private String identifier() {
        int start = pos;
        while (pos < expr.length() && (isIdentifierStart(expr.charAt(pos)) || Character.isDigit(expr.charAt(pos)))) {
            pos++;
        }
        return expr.substring(start, pos);
    }

    private static boolean isIdentifierStart(char c) {
        return Character.isLetter(c) || c == '_' || c == ':';
    }
}
