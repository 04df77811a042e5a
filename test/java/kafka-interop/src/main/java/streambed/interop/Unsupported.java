package streambed.interop;

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * What the Java client does with what Streambed does not serve (transactions, KIP-848 consumer groups,
 * KIP-932 share groups): one JSON line per feature, the exception it failed with (or "none") and how
 * long that took, so a test can tell a clear error from a hang.
 */
final class Unsupported {
    private Unsupported() {}

    static void run(Properties common, String topic) {
        attempt("transactions", () -> {
            Properties p = (Properties) common.clone();
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "java-tx");
            p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
                producer.initTransactions();
            }
            return null;
        });
        attempt("consumer-protocol", () -> {
            Properties p = consumerProps(common, "java-kip848");
            p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
                consumer.subscribe(List.of(topic));
                long deadline = System.currentTimeMillis() + 15_000;
                while (System.currentTimeMillis() < deadline) consumer.poll(Duration.ofMillis(500));
            }
            return null;
        });
        attempt("share-group", () -> {
            Properties p = consumerProps(common, "java-share");
            try (KafkaShareConsumer<byte[], byte[]> consumer = new KafkaShareConsumer<>(p)) {
                consumer.subscribe(List.of(topic));
                long deadline = System.currentTimeMillis() + 15_000;
                while (System.currentTimeMillis() < deadline) consumer.poll(Duration.ofMillis(500));
            }
            return null;
        });
    }

    private static Properties consumerProps(Properties common, String group) {
        Properties p = (Properties) common.clone();
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        return p;
    }

    private static void attempt(String feature, Callable<Object> body) {
        long start = System.currentTimeMillis();
        String error = "none";
        String message = "";
        try {
            body.call();
        } catch (Throwable e) {
            Throwable cause = e;
            while (cause.getCause() != null && cause.getCause() != cause) cause = cause.getCause();
            error = cause.getClass().getSimpleName();
            message = String.valueOf(cause.getMessage());
        }
        Json.line("feature", feature, "error", error, "message", message, "ms", System.currentTimeMillis() - start);
    }
}
