package io.tandem.server.core;

import io.tandem.models.ModelKind;
import io.tandem.models.pipeline.ClassifierModel;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.EmbedderModel;
import io.tandem.models.pipeline.Embedding;
import io.tandem.models.pipeline.Model;
import io.tandem.models.tokenize.Tokens;
import io.tandem.server.config.ModelSettings;
import io.tandem.server.metrics.TeiMetrics;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A model as the server serves it: the loaded model, its own batch queue and inference
 * thread, its concurrency permits and its metrics. Each model has its own, so one model's
 * load never queues behind the other's.
 */
public final class ServedModel implements AutoCloseable {

    private final String name;
    private final String role;
    private final Model model;
    private final ModelSettings settings;
    private final TeiMetrics metrics;
    private final Semaphore permits;
    private final BatchQueue<Set<EmbedOutput>, Embedding> embedQueue;
    private final BatchQueue<Void, float[]> classifyQueue;
    private volatile boolean lastBatchOk = true;
    private CompletableFuture<?> probe;

    /**
     * @param name     the served model name (TEI's served_model_name)
     * @param role     "embed" or "rerank": the slot it fills, also usable in /models/{name}
     */
    public ServedModel(String name, String role, Model model, ModelSettings settings, TeiMetrics metrics) {
        this(name, role, model, settings, metrics, null);
    }

    /**
     * @param gate shared by an embedder and a reranker on one GPU: the reranker's batches go
     *             first (see {@link PriorityGate}); null for none
     */
    public ServedModel(String name, String role, Model model, ModelSettings settings, TeiMetrics metrics,
                       PriorityGate gate) {
        this(name, role, model, settings, metrics, gate, null, null);
    }

    /**
     * With the backend's batch runner given instead of the model's own (tests use it to make
     * the backend fail); null runners mean the model's.
     */
    ServedModel(String name, String role, Model model, ModelSettings settings, TeiMetrics metrics,
                BatchRunner<Set<EmbedOutput>, Embedding> embedRunner, BatchRunner<Void, float[]> classifyRunner) {
        this(name, role, model, settings, metrics, null, embedRunner, classifyRunner);
    }

    private ServedModel(String name, String role, Model model, ModelSettings settings, TeiMetrics metrics,
                        PriorityGate gate, BatchRunner<Set<EmbedOutput>, Embedding> embedRunner,
                        BatchRunner<Void, float[]> classifyRunner) {
        this.name = name;
        this.role = role;
        this.model = model;
        this.settings = settings;
        this.metrics = metrics;
        this.permits = new Semaphore(settings.maxConcurrentRequests());
        BatchQueue.Listener listener = new BatchQueue.Listener() {
            @Override
            public void batchFormed(int size, int tokens) {
                metrics.batchFormed(size, tokens);
            }

            @Override
            public void dropped() {
                metrics.requestFailed(TeiMetrics.Failure.DROPPED);
            }

            @Override
            public void batchFailed(RuntimeException e) {
                lastBatchOk = false;
            }

            @Override
            public void batchSucceeded() {
                lastBatchOk = true;
            }
        };
        if (model instanceof EmbedderModel embedder) {
            this.embedQueue = new BatchQueue<>(name, embedRunner != null ? embedRunner : batch -> embedder.embed(
                    batch.stream().map(QueuedItem::tokens).toList(), union(batch)),
                    settings.maxBatchTokens(), settings.maxBatchRequests(), listener, gate, false, model.packed());
            this.classifyQueue = null;
            metrics.trackQueueSize(embedQueue::size);
            // Big batches' scratch memory goes back to the device when the queue runs dry.
            model.shrinkArenaAbove(settings.maxBatchTokens() / 2L, () -> embedQueue.size() == 0);
        } else {
            ClassifierModel classifier = (ClassifierModel) model;
            this.classifyQueue = new BatchQueue<>(name, classifyRunner != null ? classifyRunner
                    : batch -> List.of(classifier.classify(batch.stream().map(QueuedItem::tokens).toList())),
                    settings.maxBatchTokens(), settings.maxBatchRequests(), listener, gate, true, model.packed());
            this.embedQueue = null;
            metrics.trackQueueSize(classifyQueue::size);
            model.shrinkArenaAbove(settings.maxBatchTokens() / 2L, () -> classifyQueue.size() == 0);
        }
    }

    private static Set<EmbedOutput> union(List<QueuedItem<Set<EmbedOutput>, Embedding>> batch) {
        Set<EmbedOutput> all = EnumSet.noneOf(EmbedOutput.class);
        batch.forEach(item -> all.addAll(item.want()));
        return all;
    }

    public String name() {
        return name;
    }

    public String role() {
        return role;
    }

    public Model model() {
        return model;
    }

    public ModelKind kind() {
        return model.descriptor().kind();
    }

    public ModelSettings settings() {
        return settings;
    }

    public TeiMetrics metrics() {
        return metrics;
    }

    public EmbedderModel embedder() {
        return model instanceof EmbedderModel e ? e : null;
    }

    public ClassifierModel classifier() {
        return model instanceof ClassifierModel c ? c : null;
    }

    public CompletableFuture<ItemResult<Embedding>> embed(Tokens tokens, Set<EmbedOutput> want) {
        return embedQueue.submit(tokens, want);
    }

    public CompletableFuture<ItemResult<float[]>> classify(Tokens tokens) {
        return classifyQueue.submit(tokens, null);
    }

    /** TEI's permit rule: every input of a request needs one, taken at once or not at all. */
    public boolean tryAcquire(int inputs) {
        return permits.tryAcquire(inputs);
    }

    public void release(int inputs) {
        permits.release(inputs);
    }

    public int queueSize() {
        return embedQueue != null ? embedQueue.size() : classifyQueue.size();
    }

    /**
     * Healthy when the last batch ran; after a failure, a one-token batch must run to prove
     * the model works again (TEI's rule).
     */
    public boolean healthy() {
        if (lastBatchOk) {
            return true;
        }
        // Concurrent /health calls share one probe: a flood of health checks must not become a
        // flood of batches on a model that is already failing.
        CompletableFuture<?> f = currentProbe();
        try {
            f.get(30, TimeUnit.SECONDS);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private synchronized CompletableFuture<?> currentProbe() {
        if (probe == null || probe.isDone()) {
            probe = startProbe();
        }
        return probe;
    }

    private CompletableFuture<?> startProbe() {
        Tokens oneToken = model.tokenizer().fromIds(new long[] {model.descriptor().padId() == 0 ? 1 : 0},
                io.tandem.models.tokenize.Truncation.RIGHT);
        return embedQueue != null ? embed(oneToken, EnumSet.of(EmbedOutput.DENSE)) : classify(oneToken);
    }

    /** Stops taking inputs and lets queued ones run, up to the timeout. */
    public boolean drain(long timeoutNanos) {
        return embedQueue != null ? embedQueue.drain(timeoutNanos) : classifyQueue.drain(timeoutNanos);
    }

    @Override
    public void close() {
        if (embedQueue != null) {
            embedQueue.close();
        } else {
            classifyQueue.close();
        }
        model.close();
    }
}
