package streambed.interop;

import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** A minimal JSON writer: one object per line on stdout, the only output the test reads. */
final class Json {
    private Json() {}

    /** Prints one JSON object built from alternating keys and values. */
    static synchronized void line(Object... keyValues) {
        StringBuilder out = new StringBuilder("{");
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            if (i > 0) out.append(',');
            string(out, String.valueOf(keyValues[i]));
            out.append(':');
            value(out, keyValues[i + 1]);
        }
        System.out.println(out.append('}'));
        System.out.flush();
    }

    private static void value(StringBuilder out, Object v) {
        if (v == null) {
            out.append("null");
        } else if (v instanceof Number || v instanceof Boolean) {
            out.append(v);
        } else if (v instanceof byte[] bytes) {
            string(out, new String(bytes, StandardCharsets.UTF_8));
        } else if (v instanceof Map<?, ?> map) {
            out.append('{');
            Iterator<? extends Map.Entry<?, ?>> it = map.entrySet().iterator();
            while (it.hasNext()) {
                Map.Entry<?, ?> e = it.next();
                string(out, String.valueOf(e.getKey()));
                out.append(':');
                value(out, e.getValue());
                if (it.hasNext()) out.append(',');
            }
            out.append('}');
        } else if (v instanceof List<?> list) {
            out.append('[');
            for (int i = 0; i < list.size(); i++) {
                if (i > 0) out.append(',');
                value(out, list.get(i));
            }
            out.append(']');
        } else {
            string(out, v.toString());
        }
    }

    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        out.append('"');
    }
}
