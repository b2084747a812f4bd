package dev.sortie.cli.output;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.cli.output.PlotsModel.Chart;
import dev.sortie.cli.output.PlotsModel.Series;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

class PlotsSvgTest {
    private static final String SVG = "http://www.w3.org/2000/svg";

    private static Document parse(String html) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        DocumentBuilder b = f.newDocumentBuilder();
        return b.parse(new ByteArrayInputStream(html.getBytes(StandardCharsets.UTF_8)));
    }

    private static List<Element> elements(Node root, String ns, String name) {
        NodeList nl = root instanceof Document d ? d.getElementsByTagNameNS(ns, name) : ((Element) root).getElementsByTagNameNS(ns, name);
        List<Element> out = new ArrayList<>();
        for (int i = 0; i < nl.getLength(); i++) {
            out.add((Element) nl.item(i));
        }
        return out;
    }

    private static Element child(Element e, String name) {
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element c && c.getLocalName().equals(name)) {
                return c;
            }
        }
        return null;
    }

    private static Series series(String name, int color, int n, double nanEvery) {
        long[] steps = new long[n];
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            steps[i] = i;
            values[i] = nanEvery > 0 && i % (int) nanEvery == 1 ? Double.NaN : 1.0 / (i + 1);
        }
        return Series.of(name, color, steps, values);
    }

    @Test
    void oneSvgPerChartWithTitleLegendAndALinePerExperiment() throws Exception {
        Chart loss = new Chart("loss", List.of(series("fast", 0, 20, 0), series("slow <&> \"quoted\"", 1, 50, 0)));
        Chart acc = new Chart("val/acc", List.of(series("fast", 0, 10, 0)));
        String html = PlotsSvg.html("Sortie plots: fast, slow", "2 charts", List.of(loss, acc));

        assertThat(html).startsWith("<!DOCTYPE html>");
        assertThat(html).doesNotContain("<script").doesNotContain("src=").doesNotContain("href=").doesNotContain("@import")
                .doesNotContain("url(");
        Document doc = parse(html);
        List<Element> svgs = elements(doc, SVG, "svg");
        assertThat(svgs).hasSize(2);

        Element first = svgs.get(0);
        assertThat(child(first, "title").getTextContent()).isEqualTo("loss");
        List<String> texts = elements(first, SVG, "text").stream().map(Element::getTextContent).toList();
        assertThat(texts).contains("loss", "fast", "slow <&> \"quoted\"", "step");
        List<Element> lines = elements(first, SVG, "polyline");
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0).getAttribute("points").split(" ")).hasSize(20);
        assertThat(lines.get(1).getAttribute("points").split(" ")).hasSize(50);

        // distinct colours per experiment, the same experiment keeps its colour in the next chart
        List<Element> groups = elements(first, SVG, "g").stream().filter(g -> g.getAttribute("class").startsWith("series")).toList();
        assertThat(groups).hasSize(2);
        assertThat(groups.get(0).getAttribute("stroke")).isNotEqualTo(groups.get(1).getAttribute("stroke"));
        Element accGroup = elements(svgs.get(1), SVG, "g").stream().filter(g -> g.getAttribute("class").startsWith("series")).findFirst().orElseThrow();
        assertThat(accGroup.getAttribute("stroke")).isEqualTo(groups.get(0).getAttribute("stroke"));

        // hover: every point has a <title> with step and value
        List<Element> points = elements(groups.get(0), SVG, "circle");
        assertThat(points).hasSize(20);
        assertThat(child(points.get(3), "title").getTextContent()).contains("fast").contains("step 3").contains("0.25");
    }

    @Test
    void axisTicksAreRoundNumbers() throws Exception {
        Chart c = new Chart("loss", List.of(Series.of("a", 0, new long[] {0, 50, 100}, new double[] {0.03, 0.5, 0.97})));
        Document doc = parse(PlotsSvg.html("t", null, List.of(c)));
        List<String> y = elements(doc, SVG, "text").stream().filter(t -> t.getAttribute("class").equals("ytick"))
                .map(Element::getTextContent).toList();
        List<String> x = elements(doc, SVG, "text").stream().filter(t -> t.getAttribute("class").equals("xtick"))
                .map(Element::getTextContent).toList();
        assertThat(y).containsExactly("0.0", "0.2", "0.4", "0.6", "0.8", "1.0");
        assertThat(x).contains("0", "100").allMatch(s -> s.matches("\\d+"));
        assertThat(Integer.parseInt(x.get(1)) % 10).isZero();
    }

    @Test
    void longSeriesAreDownsampledAndNaNsSkipped() throws Exception {
        int n = 50_000;
        long[] steps = new long[n];
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            steps[i] = i;
            values[i] = i % 7 == 3 ? Double.NaN : Math.cos(i / 500.0);
        }
        values[31_000] = 25; // a spike that must stay visible
        Chart c = new Chart("loss", List.of(Series.of("long", 0, steps, values)));
        String html = PlotsSvg.html("t", null, List.of(c));
        assertThat(html).doesNotContain("NaN").doesNotContain("Infinity");
        Document doc = parse(html);
        Element line = elements(doc, SVG, "polyline").get(0);
        String[] pts = line.getAttribute("points").split(" ");
        assertThat(pts.length).isLessThanOrEqualTo(PlotsModel.MAX_SVG_POINTS).isGreaterThan(1000);
        // the spike is the highest point: the smallest y, at the top edge of the plot area
        Element frame = elements(doc, SVG, "rect").stream().filter(r -> r.getAttribute("class").equals("frame")).findFirst().orElseThrow();
        double top = Double.parseDouble(frame.getAttribute("y"));
        double minY = Double.MAX_VALUE;
        for (String p : pts) {
            minY = Math.min(minY, Double.parseDouble(p.split(",")[1]));
        }
        assertThat(minY).isLessThan(top + 20);
        List<Element> markers = elements(doc, SVG, "circle");
        assertThat(markers.size()).isLessThanOrEqualTo(PlotsSvg.MAX_MARKERS + 2);
        assertThat(markers).anyMatch(m -> child(m, "title").getTextContent().contains("step 31000: loss = 25"));
        assertThat(html.length()).isLessThan(400_000);
    }

    @Test
    void chartWithoutFiniteValuesSaysSo() throws Exception {
        Chart c = new Chart("nan", List.of(Series.of("a", 0, new long[] {0, 1}, new double[] {Double.NaN, Double.NaN})));
        Document doc = parse(PlotsSvg.html("t", null, List.of(c)));
        assertThat(elements(doc, SVG, "polyline")).isEmpty();
        assertThat(elements(doc, SVG, "text").stream().map(Element::getTextContent)).contains("no finite values");
    }

    @Test
    void manyExperimentsWrapTheLegend() throws Exception {
        List<Series> many = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            many.add(series("experiment-with-a-long-name-" + i, i, 5, 0));
        }
        String svg = PlotsSvg.svg(new Chart("loss", many), 960, 300);
        Document doc = parse(svg);
        Element root = doc.getDocumentElement();
        int height = Integer.parseInt(root.getAttribute("height"));
        assertThat(height).isGreaterThan(300 + 25 * 18 / 4);
        List<Element> legendTexts = elements(elements(doc, SVG, "g").stream()
                .filter(g -> g.getAttribute("class").equals("legend")).findFirst().orElseThrow(), SVG, "text");
        assertThat(legendTexts).hasSize(25);
        for (Element t : legendTexts) {
            double x = Double.parseDouble(t.getAttribute("x"));
            assertThat(x + t.getTextContent().length() * 7).isLessThanOrEqualTo(960);
        }
        assertThat(elements(doc, SVG, "polyline").stream().map(p -> p.getParentNode()).map(g -> ((Element) g).getAttribute("stroke")).distinct())
                .hasSize(25);
    }
    @Test
    void dvcPlotsDrawCurvesAgainstDecimalXAndMatricesAndImagesAsWellFormedXhtml() throws Exception {
        dev.sortie.core.dvc.DvcPlot roc = new dev.sortie.core.dvc.DvcPlot("dvclive/plots/sklearn/roc.json", "simple", "fpr",
                List.of("tpr"), "ROC");
        dev.sortie.core.dvc.DvcPlot cm = new dev.sortie.core.dvc.DvcPlot("cm.json", "confusion", "actual", List.of("predicted"), "CM");
        dev.sortie.core.dvc.DvcPlot img = new dev.sortie.core.dvc.DvcPlot("plots/a<b>.png", null, null, List.of(), null);
        DvcPlotSet set = DvcPlotSet.of(List.of(
                new DvcPlotSet.Loaded("a", 0, roc, "{\"roc\": [{\"fpr\": 0, \"tpr\": 0}, {\"fpr\": 0.25, \"tpr\": 0.5}, {\"fpr\": 1, \"tpr\": 1}]}"
                        .getBytes(StandardCharsets.UTF_8)),
                new DvcPlotSet.Loaded("b", 1, roc, "[{\"fpr\": 0, \"tpr\": 0}, {\"fpr\": 0.5, \"tpr\": 0.9}, {\"fpr\": 1, \"tpr\": 1}]"
                        .getBytes(StandardCharsets.UTF_8)),
                new DvcPlotSet.Loaded("a", 0, cm, "[{\"actual\": \"x\", \"predicted\": \"y\"}, {\"actual\": \"y\", \"predicted\": \"y\"}]"
                        .getBytes(StandardCharsets.UTF_8)),
                new DvcPlotSet.Loaded("a", 0, img, new byte[] {(byte) 0x89, 'P', 'N', 'G'})));
        assertThat(set.curves()).hasSize(1);
        Chart c = set.curves().get(0);
        assertThat(c.x()).isEqualTo("fpr");
        assertThat(c.integerX()).isFalse();
        assertThat(c.series()).extracting(Series::name).containsExactly("a", "b");
        assertThat(c.series().get(0).x()).containsExactly(0, 0.25, 1);

        Document doc = parse(PlotsSvg.html("t", "s", set.curves(), List.of(), set.html()));
        List<String> xTicks = new ArrayList<>();
        for (Element t : elements(doc, SVG, "text")) {
            if ("xtick".equals(t.getAttribute("class"))) {
                xTicks.add(t.getTextContent());
            }
        }
        assertThat(xTicks).contains("0.0", "0.2", "1.0");
        List<String> hovers = new ArrayList<>();
        for (Element circle : elements(doc, SVG, "circle")) {
            hovers.add(child(circle, "title").getTextContent());
        }
        assertThat(hovers).contains("a · fpr 0.25: ROC = 0.5");
        String xhtml = "http://www.w3.org/1999/xhtml";
        assertThat(elements(doc, xhtml, "td")).extracting(Element::getTextContent).containsExactly("0", "1", "0", "1");
        Element image = elements(doc, xhtml, "img").get(0);
        assertThat(image.getAttribute("alt")).isEqualTo("plots/a<b>.png");
        assertThat(image.getAttribute("src")).isEqualTo("data:image/png;base64,iVBORw==");
    }
}
