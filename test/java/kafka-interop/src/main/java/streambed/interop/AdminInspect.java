package streambed.interop;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;

/**
 * What an operator's tools (kafka-consumer-groups, kafka-configs, kafka-delete-records) ask through
 * the AdminClient, one JSON line per call: its result, or the exception it failed with.
 */
final class AdminInspect {
    private AdminInspect() {}

    static void run(Properties props, String topic, String group) throws Exception {
        try (Admin admin = Admin.create(props)) {
            TopicPartition p0 = new TopicPartition(topic, 0);
            call("listConsumerGroups", () -> {
                List<Object> out = new ArrayList<>();
                for (ConsumerGroupListing g : admin.listConsumerGroups().all().get()) {
                    out.add(Map.of("groupId", g.groupId(), "state", String.valueOf(g.groupState().orElse(null))));
                }
                return out;
            });
            call("describeConsumerGroups", () -> {
                ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
                return Map.of("state", String.valueOf(d.groupState()), "members", d.members().size(),
                        "assignor", d.partitionAssignor(), "coordinator", d.coordinator().id());
            });
            call("listConsumerGroupOffsets", () -> {
                Map<String, Object> out = new TreeMap<>();
                for (Map.Entry<TopicPartition, OffsetAndMetadata> e
                        : admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().entrySet()) {
                    out.put(e.getKey().toString(), e.getValue() == null ? null : e.getValue().offset());
                }
                return out;
            });
            for (Map.Entry<String, OffsetSpec> spec : new TreeMap<>(Map.of("earliest", OffsetSpec.earliest(),
                    "latest", OffsetSpec.latest(), "maxTimestamp", OffsetSpec.maxTimestamp())).entrySet()) {
                call("listOffsets " + spec.getKey(), () ->
                        admin.listOffsets(Map.of(p0, spec.getValue())).partitionResult(p0).get().offset());
            }
            call("describeConfigs", () -> {
                ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
                Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
                Map<String, Object> out = new TreeMap<>();
                config.entries().forEach(e -> out.put(e.name(), e.value()));
                return out;
            });
            call("deleteRecords", () -> admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(1)))
                    .lowWatermarks().get(p0).get().lowWatermark());
            call("listOffsets earliest", () ->
                    admin.listOffsets(Map.of(p0, OffsetSpec.earliest())).partitionResult(p0).get().offset());
        }
    }

    private static void call(String name, Callable<Object> work) {
        try {
            Json.line("call", name, "result", work.call());
        } catch (Exception e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            Json.line("call", name, "error", cause.getClass().getSimpleName(), "message", String.valueOf(cause.getMessage()));
        }
    }
}
