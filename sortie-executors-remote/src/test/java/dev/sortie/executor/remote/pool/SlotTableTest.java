package dev.sortie.executor.remote.pool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.executor.remote.host.Slot;
import dev.sortie.executor.remote.pool.SlotTable.HostState;
import dev.sortie.executor.remote.pool.SlotTable.Reservation;
import dev.sortie.executor.remote.pool.SlotTable.Use;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SlotTableTest {

    private static List<List<Integer>> gpus(List<Slot> slots) {
        return slots.stream().map(Slot::gpus).toList();
    }

    @Test
    void aHostWithFourGpusGivesOneSlotPerGpuByDefault() {
        List<Slot> s = SlotTable.layout(List.of(0, 1, 2, 3), null, null);
        assertThat(s).extracting(Slot::index).containsExactly(0, 1, 2, 3);
        assertThat(gpus(s)).containsExactly(List.of(0), List.of(1), List.of(2), List.of(3));
    }

    @Test
    void gpusPerSlotGroupsThem() {
        assertThat(gpus(SlotTable.layout(List.of(0, 1, 2, 3), null, 2))).containsExactly(List.of(0, 1), List.of(2, 3));
        assertThat(gpus(SlotTable.layout(List.of(0, 1, 2, 3), null, 3))).containsExactly(List.of(0, 1, 2));
        // fewer GPUs than a slot wants: one slot with all of them
        assertThat(gpus(SlotTable.layout(List.of(0), null, 2))).containsExactly(List.of(0));
    }

    @Test
    void slotsWithoutGpusHaveNone() {
        assertThat(gpus(SlotTable.layout(List.of(), 3, null))).containsExactly(List.of(), List.of(), List.of());
        assertThat(gpus(SlotTable.layout(List.of(), null, null))).containsExactly(List.of());
        assertThat(gpus(SlotTable.layout(List.of(), null, 2))).containsExactly(List.of());
    }

    @Test
    void slotsAloneDivideTheGpusEvenly() {
        assertThat(gpus(SlotTable.layout(List.of(0, 1, 2, 3), 2, null))).containsExactly(List.of(0, 1), List.of(2, 3));
        assertThat(gpus(SlotTable.layout(List.of(0, 1, 2, 3), 3, null))).containsExactly(List.of(0), List.of(1), List.of(2));
        // more slots than GPUs: runs share them, round the GPUs
        assertThat(gpus(SlotTable.layout(List.of(0, 1), 4, null))).containsExactly(List.of(0), List.of(1), List.of(0), List.of(1));
        assertThat(gpus(SlotTable.layout(List.of(0, 1, 2, 3), 2, 1))).containsExactly(List.of(0), List.of(1));
    }

    @Test
    void gpuIndicesAreTheHostsOwn() {
        assertThat(gpus(SlotTable.layout(List.of(2, 5), null, null))).containsExactly(List.of(2), List.of(5));
    }

    @Test
    void nothingIsReservedBeforeAHostAnswers() {
        SlotTable t = new SlotTable(List.of("a", "b"), null, null);
        assertThat(t.reserve(0)).isEmpty();
        assertThat(t.claimProbes(0)).containsExactly(0, 1);
        assertThat(t.claimProbes(0)).isEmpty(); // being probed
        t.probed(0, List.of(0, 1));
        // b is still being probed, but a is idle: no reason to wait
        Optional<Reservation> r = t.reserve(0);
        assertThat(r).contains(new Reservation(0, new Slot(0, List.of(0))));
        // a now has a run and b could be emptier: wait for b's probe
        assertThat(t.reserve(0)).isEmpty();
        t.probed(1, List.of(0, 1));
        assertThat(t.reserve(0)).contains(new Reservation(1, new Slot(0, List.of(0))));
    }

    @Test
    void leastLoadedHostFirstTiesInConfigOrder() {
        SlotTable t = new SlotTable(List.of("a", "b"), 3, null);
        t.claimProbes(0);
        t.probed(0, List.of());
        t.probed(1, List.of());
        assertThat(t.reserve(0).orElseThrow().host()).isEqualTo(0);
        assertThat(t.reserve(0).orElseThrow().host()).isEqualTo(1);
        Reservation third = t.reserve(0).orElseThrow();
        assertThat(third.host()).isEqualTo(0);
        assertThat(third.slot().index()).isEqualTo(1);
        assertThat(t.reserve(0).orElseThrow().host()).isEqualTo(1);
        t.release(third);
        assertThat(t.reserve(0)).contains(new Reservation(0, new Slot(1, List.of())));
        assertThat(t.summary()).isEqualTo(new SlotTable.Summary(4, 6, 2, 0, 0, List.of()));
    }

    @Test
    void aSlotHeldElsewhereIsSkippedUntilItsRetryTime() {
        SlotTable t = new SlotTable(List.of("a"), 2, null);
        t.claimProbes(0);
        t.probed(0, List.of());
        Reservation r0 = t.reserve(0).orElseThrow();
        t.busyElsewhere(r0, 1000);
        assertThat(t.use(0, 0)).isEqualTo(Use.FOREIGN);
        Reservation r1 = t.reserve(10).orElseThrow();
        assertThat(r1.slot().index()).isEqualTo(1);
        assertThat(t.reserve(10)).isEmpty();
        assertThat(t.nextEvent(10)).isEqualTo(1000);
        assertThat(t.summary().busy()).isEqualTo(2);
        assertThat(t.reserve(1000)).contains(r0);
    }

    @Test
    void aFreeSlotGoesBeforeOneToTryAgain() {
        SlotTable t = new SlotTable(List.of("a"), 2, null);
        t.claimProbes(0);
        t.probed(0, List.of());
        Reservation r0 = t.reserve(0).orElseThrow();
        t.busyElsewhere(r0, 5);
        assertThat(t.reserve(100).orElseThrow().slot().index()).isEqualTo(1);
        assertThat(t.reserve(100).orElseThrow().slot().index()).isEqualTo(0);
    }

    @Test
    void aDownHostIsProbedAgainAndRejoinsWithItsSlots() {
        SlotTable t = new SlotTable(List.of("a", "b"), null, null);
        t.claimProbes(0);
        t.probed(0, List.of(0, 1));
        t.probeFailed(1, "connection refused", 0, 100);
        assertThat(t.state(1)).isEqualTo(HostState.DOWN);
        assertThat(t.anyUnknown()).isFalse();
        assertThat(t.nextEvent(0)).isEqualTo(100);
        assertThat(t.claimProbes(50)).isEmpty();
        Reservation a0 = t.reserve(50).orElseThrow();
        Reservation a1 = t.reserve(50).orElseThrow();
        assertThat(t.reserve(50)).isEmpty();
        assertThat(t.summary()).isEqualTo(new SlotTable.Summary(2, 2, 1, 1, 0, List.of("b")));

        // a launch finds a unreachable: down, its slot free again, a's other run still counted
        assertThat(t.down(a1, "timeout", 60, 100)).isTrue();
        assertThat(t.down(a1, "timeout", 60, 100)).isFalse();
        assertThat(t.state(0)).isEqualTo(HostState.DOWN);
        assertThat(t.downReason(0)).isEqualTo("timeout");
        assertThat(t.reserve(60)).isEmpty();
        assertThat(t.summary().up()).isZero();

        assertThat(t.claimProbes(100)).containsExactly(1);
        t.probed(1, List.of(0));
        assertThat(t.reserve(100)).contains(new Reservation(1, new Slot(0, List.of(0))));
        assertThat(t.claimProbes(160)).containsExactly(0);
        t.probed(0, List.of(0, 1, 2, 3)); // slots stay as first laid out
        assertThat(t.slots(0)).hasSize(2);
        assertThat(t.use(0, 0)).isEqualTo(Use.OURS);
        assertThat(t.reserve(160)).contains(a1);
        t.release(a0);
        assertThat(t.use(0, 0)).isEqualTo(Use.FREE);
    }

    @Test
    void aHostThatAnswersAgainForgetsSlotsHeldElsewhere() {
        SlotTable t = new SlotTable(List.of("a"), 1, null);
        t.claimProbes(0);
        t.probed(0, List.of());
        Reservation r = t.reserve(0).orElseThrow();
        t.busyElsewhere(r, 10_000);
        Reservation again = new Reservation(0, r.slot());
        t.probeFailed(0, "gone", 0, 10);
        t.claimProbes(10);
        t.probed(0, List.of());
        assertThat(t.reserve(20)).contains(again);
    }
}
