package streambed.interop;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java Kafka client against a Kafka door: {@code java -jar kafka-interop.jar <bootstrap> <scenario> [args]}.
 * Every result is a JSON line on stdout; the client's own logs go to stderr. Exit code 0 unless the
 * scenario itself failed unexpectedly (an expected failure is reported as a JSON line).
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: kafka-interop <bootstrap> <scenario> [args...]");
            System.exit(2);
        }
        String bootstrap = args[0];
        String[] rest = java.util.Arrays.copyOfRange(args, 2, args.length);
        switch (args[1]) {
            case "admin-create" -> adminCreate(bootstrap, rest[0], Integer.parseInt(rest[1]));
            case "admin-describe" -> adminDescribe(bootstrap, rest[0]);
            case "admin-delete" -> adminDelete(bootstrap, rest[0]);
            case "admin-inspect" -> AdminInspect.run(common(bootstrap), rest[0], rest[1]);
            case "produce" -> produce(bootstrap, rest[0], rest[1], Integer.parseInt(rest[2]), rest.length > 3 ? rest[3] : "all");
            case "consume" -> consume(bootstrap, rest[0], rest[1], Integer.parseInt(rest[2]));
            case "offsets-for-times" -> offsetsForTimes(bootstrap, rest[0], Long.parseLong(rest[1]));
            case "member" -> member(bootstrap, rest[0], rest[1], rest.length > 2 ? rest[2] : null,
                    rest.length > 3 ? rest[3] : null);
            case "produce-recover" -> produceRecover(bootstrap, rest[0]);
            case "unsupported" -> Unsupported.run(common(bootstrap), rest[0]);
            default -> {
                System.err.println("unknown scenario " + args[1]);
                System.exit(2);
            }
        }
    }

    static Properties common(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "java-interop");
        return p;
    }

    private static void adminCreate(String bootstrap, String topic, int partitions) throws Exception {
        try (Admin admin = Admin.create(common(bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
            Json.line("created", topic, "topics", new ArrayList<>(admin.listTopics().names().get()));
        }
    }

    private static void adminDescribe(String bootstrap, String topic) throws Exception {
        try (Admin admin = Admin.create(common(bootstrap))) {
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            List<Object> partitions = new ArrayList<>();
            d.partitions().forEach(p -> partitions.add(Map.of("partition", p.partition(), "leader", p.leader().id())));
            String cluster = admin.describeCluster().clusterId().get();
            Json.line("topic", d.name(), "topicId", d.topicId().toString(), "partitions", partitions,
                    "clusterId", cluster, "nodes", admin.describeCluster().nodes().get().size());
        }
    }

    private static void adminDelete(String bootstrap, String topic) throws Exception {
        try (Admin admin = Admin.create(common(bootstrap))) {
            admin.deleteTopics(List.of(topic)).all().get();
            Json.line("deleted", topic, "topics", new ArrayList<>(admin.listTopics().names().get()));
        }
    }

    /**
     * An idempotent producer (the Java default: enable.idempotence=true, acks=all; a plain one with
     * acks 0 or 1) with linger and the given compression: {@code count} records keyed {@code key-<i>} with a header {@code n=<i>}, one
     * JSON line per acknowledged record in send order, or one error line.
     */
    private static void produce(String bootstrap, String topic, String compression, int count, String acks) throws Exception {
        Properties p = common(bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        p.put(ProducerConfig.ACKS_CONFIG, acks);
        // Idempotence needs acks=all: with acks 0 or 1 the producer is a plain one.
        if (!acks.equals("all") && !acks.equals("-1")) p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "20000");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                ProducerRecord<String, String> r = new ProducerRecord<>(topic, "key-" + i, compression + "-value-" + i);
                r.headers().add("n", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
                sent.add(producer.send(r));
            }
            producer.flush();
            for (int i = 0; i < count; i++) {
                try {
                    RecordMetadata m = sent.get(i).get();
                    Json.line("key", "key-" + i, "partition", m.partition(), "offset", m.offset(), "timestamp", m.timestamp());
                } catch (ExecutionException e) {
                    Json.line("key", "key-" + i, "error", e.getCause().getClass().getSimpleName(),
                            "message", String.valueOf(e.getCause().getMessage()));
                }
            }
        }
    }

    /**
     * The idempotent producer's recovery from a sequence error: 5 records to partition 0, then
     * {@code {"producerId":..,"epoch":..}} and a wait for a line "go" on stdin (meanwhile the test
     * takes the next sequence with a batch of its own under this producer id), then 5 more records:
     * one JSON line each (offset or error), then the producer id and epoch it ended with.
     */
    private static void produceRecover(String bootstrap, String topic) throws Exception {
        Properties p = common(bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "20000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            sendAndPrint(producer, topic, 0);
            printProducerId(producer);
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null && !line.trim().equals("go")) {
                // wait for the test
            }
            sendAndPrint(producer, topic, 5);
            printProducerId(producer);
        }
    }

    private static void sendAndPrint(KafkaProducer<String, String> producer, String topic, int from) throws Exception {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (int i = from; i < from + 5; i++) sent.add(producer.send(new ProducerRecord<>(topic, 0, "r-" + i, "v-" + i)));
        producer.flush();
        for (int i = 0; i < sent.size(); i++) {
            try {
                RecordMetadata m = sent.get(i).get();
                Json.line("key", "r-" + (from + i), "partition", m.partition(), "offset", m.offset());
            } catch (ExecutionException e) {
                Json.line("key", "r-" + (from + i), "error", e.getCause().getClass().getSimpleName(),
                        "message", String.valueOf(e.getCause().getMessage()));
            }
        }
    }

    /** The producer id and epoch the client holds (not public API: read by reflection). */
    private static void printProducerId(KafkaProducer<String, String> producer) throws Exception {
        java.lang.reflect.Field field = KafkaProducer.class.getDeclaredField("transactionManager");
        field.setAccessible(true);
        Object manager = field.get(producer);
        java.lang.reflect.Method method = manager.getClass().getDeclaredMethod("producerIdAndEpoch");
        method.setAccessible(true);
        org.apache.kafka.common.utils.ProducerIdAndEpoch id =
                (org.apache.kafka.common.utils.ProducerIdAndEpoch) method.invoke(manager);
        Json.line("producerId", Long.toString(id.producerId), "epoch", (int) id.epoch);
    }

    private static Properties consumerProps(String bootstrap, String group) {
        Properties p = common(bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "200");
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
        p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, "20000");
        return p;
    }

    private static void record(ConsumerRecord<byte[], byte[]> r, Object... extra) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (Header h : r.headers()) headers.put(h.key(), new String(h.value(), StandardCharsets.UTF_8));
        List<Object> kv = new ArrayList<>(List.of("partition", r.partition(), "offset", r.offset(),
                "timestamp", r.timestamp()));
        kv.add("key");
        kv.add(r.key());
        kv.add("value");
        kv.add(r.value());
        kv.add("headers");
        kv.add(headers);
        kv.addAll(List.of(extra));
        Json.line(kv.toArray());
    }

    /**
     * A consumer in a group (group.protocol=classic) subscribed to {@code topic}: polls until it has
     * {@code expected} records (0: until it has polled for three seconds after getting its partitions),
     * commitSync after every poll, and prints each record, then {@code {"done":n,"committed":{...}}}.
     */
    private static void consume(String bootstrap, String topic, String group, int expected) throws Exception {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProps(bootstrap, group))) {
            AtomicBoolean assigned = new AtomicBoolean(false);
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override public void onPartitionsRevoked(Collection<TopicPartition> partitions) {}
                @Override public void onPartitionsAssigned(Collection<TopicPartition> partitions) { assigned.set(true); }
            });
            int count = 0;
            long quietSince = 0;
            long deadline = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < deadline) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(300));
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    record(r);
                    count++;
                }
                if (!records.isEmpty()) consumer.commitSync();
                if (expected > 0 && count >= expected) break;
                if (expected == 0 && assigned.get()) {
                    if (quietSince == 0) quietSince = System.currentTimeMillis();
                    if (System.currentTimeMillis() - quietSince > 3000) break;
                }
            }
            Map<String, Object> committed = new TreeMap<>();
            List<TopicPartition> all = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic)) all.add(new TopicPartition(topic, info.partition()));
            for (Map.Entry<TopicPartition, OffsetAndMetadata> e : consumer.committed(new java.util.HashSet<>(all)).entrySet()) {
                committed.put(Integer.toString(e.getKey().partition()), e.getValue() == null ? null : e.getValue().offset());
            }
            Json.line("done", count, "committed", committed);
        }
    }

    /**
     * offsetsForTimes for every partition of {@code topic} at {@code timestamp}, then a seek to each
     * found offset and a read to the end offsets (no group: assign). Prints the offsets, the records, then done.
     */
    private static void offsetsForTimes(String bootstrap, String topic, long timestamp) throws Exception {
        Properties p = consumerProps(bootstrap, "unused");
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            List<TopicPartition> all = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic)) all.add(new TopicPartition(topic, info.partition()));
            consumer.assign(all);
            Map<TopicPartition, Long> query = new HashMap<>();
            all.forEach(tp -> query.put(tp, timestamp));
            Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(query);
            Map<TopicPartition, Long> ends = consumer.endOffsets(all);
            Map<String, Object> byPartition = new TreeMap<>();
            for (TopicPartition tp : all) {
                OffsetAndTimestamp o = found.get(tp);
                byPartition.put(Integer.toString(tp.partition()), o == null ? null : o.offset());
                if (o == null) consumer.seek(tp, ends.get(tp));
                else consumer.seek(tp, o.offset());
            }
            Map<String, Object> endOffsets = new TreeMap<>();
            ends.forEach((tp, o) -> endOffsets.put(Integer.toString(tp.partition()), o));
            Json.line("offsets", byPartition, "ends", endOffsets);
            int count = 0;
            long deadline = System.currentTimeMillis() + 30_000;
            while (System.currentTimeMillis() < deadline) {
                boolean atEnd = true;
                for (TopicPartition tp : all) if (consumer.position(tp) < ends.get(tp)) atEnd = false;
                if (atEnd) break;
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(300))) {
                    record(r);
                    count++;
                }
            }
            Json.line("done", count);
        }
    }

    /**
     * A long-running group member: prints {@code {"assigned":[...]}} after each rebalance and
     * {@code {"committed":"p:o"}} for every record whose commit (commitSync of that record alone)
     * succeeded; a failed commit prints {@code {"commitFailed":...}}. A line "stop" on stdin closes the
     * consumer (LeaveGroup) and ends the program. An optional assignor class picks the protocol
     * (partition.assignment.strategy), e.g. the CooperativeStickyAssignor for incremental rebalances;
     * an optional group.instance.id makes it a static member.
     */
    private static void member(String bootstrap, String topic, String group, String assignor, String instanceId)
            throws Exception {
        AtomicBoolean stop = new AtomicBoolean(false);
        Thread stdin = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) if (line.trim().equals("stop")) break;
            } catch (Exception ignored) {
                // stdin closed: stop as well
            }
            stop.set(true);
        });
        stdin.setDaemon(true);
        stdin.start();
        Properties props = consumerProps(bootstrap, group);
        if (assignor != null) props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignor);
        if (instanceId != null) props.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instanceId);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override public void onPartitionsRevoked(Collection<TopicPartition> partitions) {}
                @Override public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    List<Integer> mine = new ArrayList<>();
                    consumer.assignment().forEach(tp -> mine.add(tp.partition()));
                    mine.sort(Integer::compare);
                    Json.line("assigned", mine);
                }
            });
            while (!stop.get()) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
                for (TopicPartition tp : records.partitions()) {
                    for (ConsumerRecord<byte[], byte[]> r : records.records(tp)) {
                        try {
                            consumer.commitSync(Map.of(tp, new OffsetAndMetadata(r.offset() + 1)));
                            Json.line("committed", r.partition() + ":" + r.offset());
                        } catch (CommitFailedException | org.apache.kafka.common.errors.RebalanceInProgressException e) {
                            Json.line("commitFailed", r.partition() + ":" + r.offset(), "error", e.getClass().getSimpleName());
                            // Not committed: read it again if the partition is still ours (a cooperative
                            // rebalance can keep it), else its next owner starts from the committed offset.
                            if (consumer.assignment().contains(tp)) consumer.seek(tp, r.offset());
                            break;
                        }
                    }
                }
            }
        }
        Json.line("closed", true);
    }
}
