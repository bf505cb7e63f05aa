package be.bcss.bench;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The one-hop benchmark's peer: every record of the input topic written unchanged (key, value,
 * headers) to the output topic, exactly once (Kafka Streams EOS v2), as the bench's bare relay does
 * with the switch's transactional pipeline. Configured by environment variables, so that the password
 * never shows in a process list. Prints RUNNING once the stream threads have their partitions; ends
 * when its standard input closes (the benchmark gone) or on SIGTERM.
 */
public final class StreamsRelay {
  private static String required(String name) {
    String value = System.getenv(name);
    if (value == null || value.isEmpty()) throw new IllegalArgumentException(name + " is not set");
    return value;
  }

  public static void main(String[] args) throws InterruptedException {
    Properties config = new Properties();
    config.put(StreamsConfig.APPLICATION_ID_CONFIG, required("PEER_APPLICATION_ID"));
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, required("PEER_BOOTSTRAP"));
    config.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    config.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Integer.parseInt(required("PEER_COMMIT_INTERVAL_MS")));
    // One stream thread: the switch's pipeline also works in one thread, one partition at a time.
    config.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    config.put(StreamsConfig.STATE_DIR_CONFIG, required("PEER_STATE_DIR"));
    config.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class);
    config.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class);
    String username = System.getenv("PEER_SASL_USERNAME");
    if (username != null && !username.isEmpty()) {
      boolean ssl = "true".equals(System.getenv("PEER_SSL"));
      config.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, ssl ? "SASL_SSL" : "SASL_PLAINTEXT");
      config.put(SaslConfigs.SASL_MECHANISM, required("PEER_SASL_MECHANISM"));
      config.put(
          SaslConfigs.SASL_JAAS_CONFIG,
          "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
              + username
              + "\" password=\""
              + required("PEER_SASL_PASSWORD")
              + "\";");
    }

    StreamsBuilder builder = new StreamsBuilder();
    builder
        .stream(required("PEER_INPUT"), Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
        .to(required("PEER_OUTPUT"), Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));

    KafkaStreams streams = new KafkaStreams(builder.build(), config);
    CountDownLatch stopped = new CountDownLatch(1);
    streams.setStateListener(
        (now, before) -> {
          if (now == KafkaStreams.State.RUNNING) {
            System.out.println("RUNNING");
            System.out.flush();
          }
          if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) stopped.countDown();
        });
    Runtime.getRuntime().addShutdownHook(new Thread(streams::close));
    Thread parentWatch =
        new Thread(
            () -> {
              InputStream in = System.in;
              try {
                while (in.read() >= 0) {
                  // Nothing is sent on standard input; only its end matters.
                }
              } catch (IOException ignored) {
                // Treated as the end of input.
              }
              stopped.countDown();
            });
    parentWatch.setDaemon(true);
    parentWatch.start();
    streams.start();
    stopped.await();
    streams.close();
    System.exit(0);
  }
}
