import { LabIcon } from '@jupyterlab/ui-components';

import labtrackSvg from '../style/icons/labtrack.svg';

/** labtrack's icon: a rising metric curve on a teal tile. */
export const labtrackIcon = new LabIcon({
  name: 'labtrack:logo',
  svgstr: labtrackSvg
});
